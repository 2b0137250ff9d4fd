package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/dynamo"
)

// Measurement 8: a page of 20 of each browsing read, through the store's
// own read path, at catalogues of growing size seeded straight into the
// tables, beside the Scan-based listing main had before the feeds,
// measured the same way in the same run. Each read's cost is the read
// capacity DynamoDB reports for its calls (ReturnConsumedCapacity TOTAL)
// and the rows they read (ScannedCount).

// browsePage is the page size of every browsing read.
const browsePage = 20

// browseCase is one browsing read: its filter, or for the profile the
// seller whose profile is read.
type browseCase struct {
	Name    string
	Filter  app.ItemFilter
	Profile bool
	NoMatch bool // no item passes Filter: a page ends on its read budget
}

var browseCases = []browseCase{
	{Name: "region feed (seoul)", Filter: app.ItemFilter{Region: "seoul"}},
	{Name: "region + category (seoul/mapo, digital)", Filter: app.ItemFilter{Region: "seoul/mapo", Category: "digital"}},
	{Name: "sparse category (" + sparseCategory + ", 0.1% of items)", Filter: app.ItemFilter{Category: sparseCategory}},
	{Name: "one-word search (seoul, q=자전거)", Filter: app.ItemFilter{Region: "seoul", Query: "자전거"}},
	{Name: "two-word search (seoul, q=아이폰 프로)", Filter: app.ItemFilter{Region: "seoul", Query: "아이폰 프로"}},
	{Name: "seller profile (" + profiledSeller + ")", Filter: app.ItemFilter{SellerID: profiledSeller}, Profile: true},
	// Filters no item passes: the page ends on its read budget, not on
	// a full page, however many rows the partition holds.
	{Name: "price range no item has (seoul, 1 to 999 won)", Filter: app.ItemFilter{Region: "seoul", MinPrice: won(1), MaxPrice: won(999)}, NoMatch: true},
	{Name: "search no item matches (jeju, q=아이폰)", Filter: app.ItemFilter{Region: "jeju", Query: "아이폰"}, NoMatch: true},
}

func won(n int64) *int64 { return &n }

// readCost is what DynamoDB reported for the calls of one read.
type readCost struct {
	Units   float64 // read capacity units consumed
	Scanned int32   // rows read, before any filter
	Known   bool    // whether any call reported its capacity
}

// meter asks every read call of a client for its consumed capacity and
// adds up what they report. It is safe for concurrent use.
type meter struct {
	mu   sync.Mutex
	cost readCost
}

// take returns the cost counted since the last take.
func (m *meter) take() readCost {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cost
	m.cost = readCost{}
	return c
}

func (m *meter) add(cc *types.ConsumedCapacity, scanned int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cost.Scanned += scanned
	if cc != nil && cc.CapacityUnits != nil {
		m.cost.Units += *cc.CapacityUnits
		m.cost.Known = true
	}
}

// option is a dynamodb.Options function that sets ReturnConsumedCapacity
// TOTAL on every GetItem, BatchGetItem, Query and Scan and counts what
// they report.
func (m *meter) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("carrotBenchMeter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				switch p := in.Parameters.(type) {
				case *dynamodb.GetItemInput:
					p.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
				case *dynamodb.QueryInput:
					p.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
				case *dynamodb.ScanInput:
					p.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
				case *dynamodb.BatchGetItemInput:
					p.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
				}
				out, md, err := next.HandleInitialize(ctx, in)
				switch r := out.Result.(type) {
				case *dynamodb.GetItemOutput:
					var found int32
					if r.Item != nil {
						found = 1
					}
					m.add(r.ConsumedCapacity, found)
				case *dynamodb.QueryOutput:
					m.add(r.ConsumedCapacity, r.ScannedCount)
				case *dynamodb.ScanOutput:
					m.add(r.ConsumedCapacity, r.ScannedCount)
				case *dynamodb.BatchGetItemOutput:
					var found int32
					for _, rows := range r.Responses {
						found += int32(len(rows))
					}
					for i := range r.ConsumedCapacity {
						m.add(&r.ConsumedCapacity[i], found)
						found = 0
					}
				}
				return out, md, err
			}), middleware.After)
	})
}

// browseSample is the measure of one browsing read at one size.
type browseSample struct {
	Latency Summary
	Cost    readCost // per page, the mean over the reads
	Items   int      // items on the last page read
}

// browseResult holds measurement 8 at one catalogue size.
type browseResult struct {
	Size   int
	Seeded time.Duration // seeding the items added to reach Size
	Store  map[string]browseSample
	Scan   map[string]browseSample
	Floor  browseSample // a consistent GetItem of one item, straight
}

// measureBrowsing seeds the catalogue up to each size in turn and reads
// every case rounds times through the store, taking turns with the
// floor, then scanReads times by Scan.
func measureBrowsing(ctx context.Context, base *dynamodb.Client, prefix string, sizes []int, rounds, scanReads int, samples map[string]any) ([]browseResult, error) {
	m := &meter{}
	client := dynamodb.New(base.Options(), m.option)
	store := dynamo.New(client, prefix)
	svc := &app.Service{Store: store, Views: store, Source: "/carrot/bench"}
	var out []browseResult
	seeded := 0
	for _, size := range sizes {
		progress(fmt.Sprintf("browsing: seeding %d items", size-seeded))
		began := time.Now()
		if err := seedCatalogue(ctx, store, seeded, size); err != nil {
			return nil, err
		}
		res := browseResult{Size: size, Seeded: time.Since(began), Store: map[string]browseSample{}, Scan: map[string]browseSample{}}
		seeded = size
		progress(fmt.Sprintf("browsing: %d items seeded in %s; reading", size, res.Seeded.Round(time.Millisecond)))
		// The store's reads and the floor take turns, round after round,
		// so that a pause of DynamoDB Local falls on all of them alike;
		// the Scans, which load it for seconds, come after.
		reads := make([]func() (int, error), 0, len(browseCases)+1)
		for _, bc := range browseCases {
			reads = append(reads, func() (int, error) {
				if bc.Profile {
					pr, err := svc.UserProfile(ctx, bc.Filter.SellerID)
					return len(pr.OnSale), err
				}
				items, _, err := svc.Items(ctx, bc.Filter, app.Page{Limit: browsePage})
				return len(items), err
			})
		}
		floorItem, err := catalogueItem(size / 2)
		if err != nil {
			return nil, err
		}
		reads = append(reads, func() (int, error) { return getItem(ctx, client, prefix, floorItem.ID) })
		// A tenth as many rounds first, untimed: DynamoDB Local compiles
		// its hot paths, and the OS caches the new rows, as in a system
		// that has run a while.
		if _, err := sampleRounds(m, max(1, rounds/10), reads); err != nil {
			return nil, fmt.Errorf("browsing at %d items: %w", size, err)
		}
		taken, err := sampleRounds(m, rounds, reads)
		if err != nil {
			return nil, fmt.Errorf("browsing at %d items: %w", size, err)
		}
		for i, bc := range browseCases {
			res.Store[bc.Name] = taken[i]
			samples[fmt.Sprintf("browse %s, %d items", bc.Name, size)] = taken[i].Latency
		}
		res.Floor = taken[len(browseCases)]
		for _, bc := range browseCases {
			scan, err := sampleRounds(m, scanReads, []func() (int, error){func() (int, error) { return scanListing(ctx, client, prefix, bc.Filter) }})
			if err != nil {
				return nil, fmt.Errorf("scan %s at %d items: %w", bc.Name, size, err)
			}
			res.Scan[bc.Name] = scan[0]
		}
		out = append(out, res)
	}
	return out, nil
}

// seedCatalogue writes items from to until-1 of the catalogue, in batches
// on a few workers.
func seedCatalogue(ctx context.Context, store *dynamo.Store, from, until int) error {
	const batch = 100
	var mu sync.Mutex
	var failed error
	parallel((until-from+batch-1)/batch, 4, func(b int) {
		var items []market.ItemState
		for i := from + b*batch; i < min(until, from+(b+1)*batch); i++ {
			st, err := catalogueItem(i)
			if err != nil {
				mu.Lock()
				failed = err
				mu.Unlock()
				return
			}
			items = append(items, st)
		}
		if err := store.PutItems(ctx, items); err != nil {
			mu.Lock()
			failed = err
			mu.Unlock()
		}
	})
	return failed
}

// sampleRounds times n rounds of reads, each round reading each once, one
// after the other, and gives each read its latencies and its mean cost
// per read from m.
func sampleRounds(m *meter, n int, reads []func() (int, error)) ([]browseSample, error) {
	out := make([]browseSample, len(reads))
	lat := make([][]time.Duration, len(reads))
	cost := make([]readCost, len(reads))
	m.take()
	for range n {
		for i, read := range reads {
			t := time.Now()
			got, err := read()
			if err != nil {
				return nil, err
			}
			lat[i] = append(lat[i], time.Since(t))
			out[i].Items = got
			c := m.take()
			cost[i] = readCost{Units: cost[i].Units + c.Units, Scanned: cost[i].Scanned + c.Scanned, Known: cost[i].Known || c.Known}
		}
	}
	for i := range out {
		var busy time.Duration
		for _, d := range lat[i] {
			busy += d
		}
		out[i].Latency = summarize(lat[i], 0, busy)
		c := cost[i]
		out[i].Cost = readCost{Units: c.Units / float64(max(1, n)), Scanned: c.Scanned / int32(max(1, n)), Known: c.Known}
	}
	return out, nil
}

// getItem reads one item by a consistent GetItem straight with the SDK:
// the floor of any read at this size, the latency of one call of
// DynamoDB Local with nothing of carrot's around it.
func getItem(ctx context.Context, client *dynamodb.Client, prefix, itemID string) (int, error) {
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(prefix + dynamo.TableItems), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"itemId": &types.AttributeValueMemberS{Value: itemID}}})
	if err != nil {
		return 0, err
	}
	if out.Item == nil {
		return 0, fmt.Errorf("item %s not seeded", itemID)
	}
	return 1, nil
}

// scanListing reads one page of the listing as main did before the feeds:
// a Scan of the items table, consistent like the feed's Query, filtered by
// DynamoDB, read on until a page is full or the table ends. It returns
// the page's size.
func scanListing(ctx context.Context, client *dynamodb.Client, prefix string, f app.ItemFilter) (int, error) {
	status := f.Status
	if status == "" {
		status = market.ItemCreated
	}
	cond := expression.Name("status").Equal(expression.Value(string(status)))
	if f.Region != "" {
		region := expression.Name("region")
		cond = cond.And(region.Equal(expression.Value(f.Region)).Or(region.BeginsWith(f.Region + "/")))
	}
	if f.Category != "" {
		cond = cond.And(expression.Name("category").Equal(expression.Value(f.Category)))
	}
	if f.SellerID != "" {
		cond = cond.And(expression.Name("sellerId").Equal(expression.Value(f.SellerID)))
	}
	if f.MinPrice != nil {
		cond = cond.And(expression.Name("price").GreaterThanEqual(expression.Value(*f.MinPrice)))
	}
	if f.MaxPrice != nil {
		cond = cond.And(expression.Name("price").LessThanEqual(expression.Value(*f.MaxPrice)))
	}
	for _, w := range app.ParseSearch(f.Query).Words {
		cond = cond.And(expression.Contains(expression.Name("search"), w))
	}
	expr, err := expression.NewBuilder().WithFilter(cond).Build()
	if err != nil {
		return 0, err
	}
	pages := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{
		TableName: aws.String(prefix + dynamo.TableItems), ConsistentRead: aws.Bool(true),
		FilterExpression: expr.Filter(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	found := 0
	for pages.HasMorePages() && found < browsePage {
		res, err := pages.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		found += len(res.Items)
	}
	return min(found, browsePage), nil
}

// cost says what a read cost per page: read units when DynamoDB reported
// them, and rows read.
func (c readCost) String() string {
	if !c.Known {
		return fmt.Sprintf("read units not reported; %d rows read/page", c.Scanned)
	}
	return fmt.Sprintf("%.1f read units/page, %d rows read/page", c.Units, c.Scanned)
}

// measure is the number the growth budget compares: read units, or rows
// read when DynamoDB reported no capacity.
func (c readCost) measure() float64 {
	if !c.Known {
		return float64(c.Scanned)
	}
	return c.Units
}

// browseRows gives, at each size, one row per case with the p99 budget,
// then one row per case comparing the cost of a page at the largest size
// with the smallest, with the growth budget, and the seeding times.
func browseRows(res []browseResult) []Row {
	var rows []Row
	for _, r := range res {
		rows = append(rows, Row{Section: "8", Name: fmt.Sprintf("the floor, %d items: one consistent GetItem straight with the SDK, in turn with the reads below", r.Size),
			Carrot: latency(r.Floor.Latency)})
		for _, bc := range browseCases {
			st, sc := r.Store[bc.Name], r.Scan[bc.Name]
			rows = append(rows, Row{Section: "8", Name: fmt.Sprintf("%s, %d items: page of %d", bc.Name, r.Size, browsePage),
				Carrot: fmt.Sprintf("%s; %s; %d items", latency(st.Latency), st.Cost, st.Items),
				Raw:    fmt.Sprintf("Scan listing: %s; %s; %d items", latency(sc.Latency), sc.Cost, sc.Items),
				Ratio: fmt.Sprintf("%.2fx p99, %.3fx read cost of the Scan", ratio(msf(st.Latency.P99), msf(sc.Latency.P99)),
					ratio(st.Cost.measure(), sc.Cost.measure())),
				Checked: msf(st.Latency.P99), Budget: &Budget{Limit: 20, Text: "p99 ≤ 20 ms"}})
		}
	}
	if len(res) < 2 {
		return rows
	}
	first, last := res[0], res[len(res)-1]
	for _, bc := range browseCases {
		if bc.NoMatch {
			rows = append(rows, readBudgetRow(bc, res))
			continue
		}
		small, large := first.Store[bc.Name], last.Store[bc.Name]
		a, b := small.Cost, large.Cost
		sa, sb := first.Scan[bc.Name].Cost, last.Scan[bc.Name].Cost
		unit := "read units"
		if !a.Known || !b.Known {
			unit = "rows read (read units not reported)"
		}
		per, ca, cb := "page", a.measure(), b.measure()
		// A smaller catalogue may hold fewer matches than a page: its page
		// is then cheaper for being short, and the cost compared is per
		// item listed.
		if small.Items < browsePage && small.Items > 0 && large.Items > 0 {
			per, ca, cb = "item listed", ca/float64(small.Items), cb/float64(large.Items)
		}
		row := Row{Section: "8", Name: fmt.Sprintf("%s: %s per %s at %d vs %d items", bc.Name, unit, per, last.Size, first.Size),
			Carrot: fmt.Sprintf("%s at %d; %s at %d", b, last.Size, a, first.Size),
			Raw:    fmt.Sprintf("Scan listing: %.2fx", ratio(sb.measure(), sa.measure())),
			Ratio:  fmt.Sprintf("%.2fx", ratio(cb, ca))}
		// A read that cost nothing at the smallest size has no ratio; the
		// row then informs only (the results' JSON holds no NaN).
		if growth := ratio(cb, ca); !math.IsNaN(growth) {
			row.Checked, row.Budget = growth, &Budget{Limit: 1.2, Text: "≤ 1.2x the cost at the smallest size"}
		}
		rows = append(rows, row)
	}
	for _, r := range res {
		rows = append(rows, Row{Section: "8", Name: fmt.Sprintf("seeding the catalogue up to %d items (BatchWriteItem, each item with its feed rows)", r.Size),
			Carrot: fmt.Sprintf("%s for the items added", r.Seeded.Round(time.Millisecond))})
	}
	return rows
}

// readBudgetRow checks a read that no item passes: its cost may grow with
// the catalogue only until a page reads dynamo.MaxPageRead rows, so the
// budget is on the rows a page read at each size, not on the growth (the
// smallest catalogue may hold fewer rows than a page may read).
func readBudgetRow(bc browseCase, res []browseResult) Row {
	var most int32
	var at []string
	for _, r := range res {
		c := r.Store[bc.Name].Cost
		most = max(most, c.Scanned)
		at = append(at, fmt.Sprintf("%d at %d", c.Scanned, r.Size))
	}
	first, last := res[0].Scan[bc.Name].Cost, res[len(res)-1].Scan[bc.Name].Cost
	return Row{Section: "8", Name: fmt.Sprintf("%s: rows read per page at each size (a page ends on its read budget)", bc.Name),
		Carrot:  strings.Join(at, "; "),
		Raw:     fmt.Sprintf("Scan listing: %d rows at %d, %d at %d", first.Scanned, res[0].Size, last.Scanned, res[len(res)-1].Size),
		Checked: float64(most), Budget: &Budget{Limit: dynamo.MaxPageRead, Text: fmt.Sprintf("≤ %d rows read a page at every size", dynamo.MaxPageRead)}}
}

// parseSizes reads a comma-separated list of growing catalogue sizes.
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || (len(sizes) > 0 && n <= sizes[len(sizes)-1]) {
			return nil, fmt.Errorf("sizes %q: want growing positive counts, e.g. 1000,10000", s)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}
