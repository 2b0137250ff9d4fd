package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/deploy"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
)

// calls records the DynamoDB actions a client makes. It is safe for
// concurrent use.
type calls struct {
	mu      sync.Mutex
	actions []string
}

func (c *calls) record(reqs []deploy.Request, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range reqs {
		c.actions = append(c.actions, r.Action)
	}
}

// take returns the actions recorded since the last take.
func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.actions
	c.actions = nil
	return out
}

// TestPublicReadsNeverScan drives every read a user can make through a
// store whose client records its calls: each must be answered by Gets and
// Queries, so that its cost does not grow with the catalogue. Operator
// paths (the checker, the rebuild, the reconciler, the outbox relay) may
// scan; the last case shows that the recorder sees a Scan when one is made.
func TestPublicReadsNeverScan(t *testing.T) {
	t.Parallel()
	base := dynamotest.MustClient(t)
	prefix := dynamotest.MustTables(t, base)
	rec := &calls{}
	store := dynamo.New(dynamodb.New(base.Options(), deploy.RecordRequests(rec.record)), prefix)
	svc := &app.Service{Store: store, Views: store, Source: "/carrot/test"}
	ctx := context.Background()

	it, err := svc.RegisterItem(ctx, "ann", market.ItemDetails{Name: "desk", Category: "home", Price: 1000, Region: "seoul/mapo"})
	require.NoError(t, err)
	rsv, _, err := svc.RequestChat(ctx, "ben", it.ID(), "")
	require.NoError(t, err)
	_, err = svc.PostMessage(ctx, "ben", rsv.ID(), "hi")
	require.NoError(t, err)
	price := func(won int64) *int64 { return &won }

	reads := []struct {
		name string
		read func() error
	}{
		{"an item", func() error { _, err := svc.Item(ctx, it.ID()); return err }},
		{"the feed", func() error { _, _, err := svc.Items(ctx, app.ItemFilter{}, app.Page{}); return err }},
		{"a region's feed", func() error {
			_, _, err := svc.Items(ctx, app.ItemFilter{Region: "seoul", Category: "home"}, app.Page{})
			return err
		}},
		{"a feed by status, price and words", func() error {
			f := app.ItemFilter{Status: market.ItemReserved, MinPrice: price(10), MaxPrice: price(5000), Query: "desk"}
			_, _, err := svc.Items(ctx, f, app.Page{})
			return err
		}},
		{"a seller's feed", func() error {
			_, _, err := svc.Items(ctx, app.ItemFilter{SellerID: "ann", Region: "seoul"}, app.Page{})
			return err
		}},
		{"a reservation", func() error { _, err := svc.Reservation(ctx, "ben", rsv.ID()); return err }},
		{"a chat", func() error { _, _, err := svc.Messages(ctx, "ben", rsv.ID(), app.Page{}); return err }},
		{"MyPage", func() error { _, _, err := svc.MyPage(ctx, "ann", app.Page{}); return err }},
		{"a user's MyPage", func() error {
			_, _, _, err := svc.MyPageOf(ctx, "ben", "ben", app.Page{}, app.Page{})
			return err
		}},
		{"a MyPage row", func() error { _, err := svc.MyPageRow(ctx, "ann", it.ID()); return err }},
		{"a payment", func() error { _, err := svc.Payment(ctx, "ben", events.NewID()); return err }},
	}
	for _, r := range reads { // in turn: they share the recorder
		rec.take()
		if err := r.read(); market.ErrorCode(err) != market.NotFound { // nothing was projected or paid
			require.NoError(t, err, r.name)
		}
		actions := rec.take()
		assert.NotEmpty(t, actions, "%s reads DynamoDB", r.name)
		assert.NotContains(t, actions, "dynamodb:Scan", "%s must not scan", r.name)
	}

	rec.take()
	_, err = store.Snapshot(ctx)
	require.NoError(t, err)
	assert.Contains(t, rec.take(), "dynamodb:Scan", "an operator's snapshot scans, and the recorder sees it")
}

// TestSelectiveFiltersReadBoundedPages lists with filters that few rows
// of a large partition pass, a price range and a word in one region. Each
// page asks DynamoDB for at most MaxPageRead rows, however large the
// partition, and so may come short with a cursor; following the cursors
// finds every match once, newest first.
func TestSelectiveFiltersReadBoundedPages(t *testing.T) {
	t.Parallel()
	base := dynamotest.MustClient(t)
	prefix := dynamotest.MustTables(t, base)
	var mu sync.Mutex
	asked := 0 // rows the Queries asked for (their Limit), since the last page
	store := dynamo.New(dynamodb.New(base.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("askedRows",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if q, ok := in.Parameters.(*dynamodb.QueryInput); ok {
						mu.Lock()
						asked += int(aws.ToInt32(q.Limit))
						mu.Unlock()
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	}), prefix)
	ctx := context.Background()

	// 1,200 phones in Seoul at 1,000 won, and among them four in Busan at
	// 5 won, the newest last.
	const n = 1200
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var states []market.ItemState
	var cheap []string
	for i := range n {
		d := market.ItemDetails{Name: "아이폰 12", Category: "digital", Price: 1000, Region: "seoul/mapo"}
		if i%300 == 150 {
			d.Price, d.Region = 5, "busan"
		}
		it, err := market.NewItem(fmt.Sprintf("item-%04d", i), "ann", d, at.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
		states = append(states, it.State())
		if d.Price == 5 {
			cheap = append([]string{it.ID()}, cheap...)
		}
	}
	require.NoError(t, store.PutItems(ctx, states))
	tenWon := int64(10)
	priceRange, wordInRegion := app.ItemFilter{MaxPrice: &tenWon}, app.ItemFilter{Region: "busan", Query: "아이폰"}

	for _, tc := range []struct {
		name   string
		filter app.ItemFilter
	}{
		{"a price range", priceRange},
		{"a word in one region", wordInRegion},
	} {
		t.Run(tc.name, func(t *testing.T) { // not parallel: the pages share the count
			var found []string
			pages, cursor := 0, ""
			for {
				mu.Lock()
				asked = 0
				mu.Unlock()
				items, next, err := store.Items(ctx, tc.filter, app.Page{Limit: 20, Cursor: cursor})
				require.NoError(t, err)
				pages++
				mu.Lock()
				assert.LessOrEqual(t, asked, dynamo.MaxPageRead, "rows page %d asked for", pages)
				mu.Unlock()
				for _, it := range items {
					found = append(found, it.ID())
				}
				if next == "" {
					break
				}
				require.Less(t, pages, n, "the cursors go on")
				cursor = next
			}
			assert.Equal(t, cheap, found)
			assert.GreaterOrEqual(t, pages, n/dynamo.MaxPageRead, "the partition takes several pages to read")
		})
	}

	// The cursor of a page its budget ended belongs to its feed, as any
	// cursor does: the word partition refuses it.
	_, next, err := store.Items(ctx, priceRange, app.Page{Limit: 20})
	require.NoError(t, err)
	require.NotEmpty(t, next)
	_, _, err = store.Items(ctx, wordInRegion, app.Page{Limit: 20, Cursor: next})
	assert.Equal(t, market.Invalid, market.ErrorCode(err), "%v", err)
}

// TestTheLargestSearchesAreAnswered reads the searches with the most
// conditions a user may send (MaxQuery characters, MaxQueryWords words),
// with every other filter too, from the word index and from the feed of
// another status: DynamoDB takes each filter, and from the index each
// finds its item (the other status holds none).
func TestTheLargestSearchesAreAnswered(t *testing.T) {
	t.Parallel()
	client := dynamotest.MustClient(t)
	store := dynamo.New(client, dynamotest.MustTables(t, client))
	svc := &app.Service{Store: store, Views: store, Source: "/carrot/test"}
	ctx := context.Background()

	syllables := func(from rune, n int) string { // n distinct Hangul syllables
		var b strings.Builder
		for i := range n {
			b.WriteRune(from + rune(i))
		}
		return b.String()
	}
	var tenWords, tenHangulWords []string
	for i := range app.MaxQueryWords {
		tenWords = append(tenWords, strings.Repeat(string(rune('a'+i)), 9))
		tenHangulWords = append(tenHangulWords, syllables(0xAC00+rune(100*i), 9))
	}
	queries := []string{
		syllables(0xAC00, app.MaxQuery), // one word of 99 bigrams
		strings.Join(tenWords, " "),
		strings.Join(tenHangulWords, " "),      // 10 words of 80 bigrams
		strings.Repeat("a1", app.MaxQuery/2),   // a hundred words, two of them distinct
		strings.Repeat("\uFDFA", app.MaxQuery), // NFKC makes each four words
	}
	price := int64(1000)
	for _, q := range queries {
		require.LessOrEqual(t, utf8.RuneCountInString(q), app.MaxQuery)
		it, err := svc.RegisterItem(ctx, "ann", market.ItemDetails{Name: "x", Description: q, Category: "digital", Price: price, Region: "seoul/mapo"})
		require.NoError(t, err)
		for _, status := range []market.ItemStatus{"", market.ItemCreated, market.ItemSoldOut} {
			f := app.ItemFilter{Status: status, Region: "seoul", Category: "digital", SellerID: "ann", MinPrice: &price, MaxPrice: &price, Query: q}
			items, _, err := svc.Items(ctx, f, app.Page{Limit: 20})
			require.NoError(t, err, "%.30q, status %q", q, status)
			if status != market.ItemSoldOut {
				assert.Equal(t, []string{it.ID()}, itemIDs(items), "%.30q", q)
			}
			f.SellerID = ""
			items, _, err = svc.Items(ctx, f, app.Page{Limit: 20})
			require.NoError(t, err, "%.30q, status %q, without a seller", q, status)
			if status != market.ItemSoldOut {
				assert.Equal(t, []string{it.ID()}, itemIDs(items), "%.30q without a seller", q)
			}
		}
		price++ // each query finds its own item only
	}
}

func itemIDs(items []*market.Item) []string {
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, it.ID())
	}
	return ids
}
