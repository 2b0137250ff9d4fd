package main

// Measurement 1: each use case through the gateway, beside the same
// DynamoDB operations done directly with aws-sdk-go-v2. The operations
// are captured by running one deal through every function in process,
// each on a client that records its calls; the deal's events are
// delivered synchronously to the policies and the MyPage projector. A
// step's calls are of two kinds:
//
//   - own: the calls of the function that serves the command (its reads,
//     its transaction with the outbox, the outbox's deletion of the sent
//     rows);
//   - follow-on: the calls of the policies and of the MyPage projector
//     that the command's events cause, and of the events those emit.
//
// Two raw runs replay them with fresh ids (every UUID in a key or value is
// swapped for a new one per deal), each on its own deals, at the same
// concurrency as the gateway run, in the same order of steps, so that
// every conditional write finds the state it expects:
//
//   - "all": each worker does its deal's own calls, then its follow-on
//     calls, timed together. This is all the storage work a command
//     causes, as the gateway run does it, and the budget ("a command costs
//     at most 1.5x its raw storage operations") is the ratio of the two
//     runs' rates: the cost per command under the same load.
//   - "own": only the own calls are timed; the follow-on calls run after
//     the step, untimed, so the next step finds the state the events made.
//     Its ratio is shown beside, without a budget.
//
// For each run (gateway, all, own) the CPU time DynamoDB Local spent is
// read from /proc before and after and divided by the commands: on a
// small machine DynamoDB Local is the bottleneck, and the CPU it spends
// per command says whether the gateway run does more storage work than
// the raw one or the same work more slowly.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/outbox"
	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/tests/system"
)

// step is one use case of a deal, as a client calls it.
type step struct {
	Name     string // the use case (and the function that owns it)
	Function string
	Method   string
	// path and body of deal d's request; who is "seller" or "buyer".
	Path func(d *deal) string
	Body func(d *deal) any
	Who  string
	// keep reads what later steps need from the answer.
	keep func(d *deal, body map[string]any)
}

// deal is one chain of steps, with its own users and ids.
type deal struct {
	Seller, Buyer  string
	Item, Rsv, Pay string
}

var meeting = map[string]any{"rsvStatus": "CONFIRMED", "rsvDate": system.Day(30), "rsvTime": "18:30", "rsvPlace": "Hapjeong station"}

var steps = []step{
	{Name: "register item", Function: registry.RegisterItem.Name, Method: http.MethodPost, Who: "seller",
		Path: func(*deal) string { return "/items" },
		Body: func(*deal) any {
			return map[string]any{"name": "tv", "category": "electronics", "price": 30000, "region": "seoul/mapo"}
		},
		keep: func(d *deal, b map[string]any) { d.Item, _ = b["itemId"].(string) }},
	{Name: "request chat", Function: registry.RequestChat.Name, Method: http.MethodPost, Who: "buyer",
		Path: func(*deal) string { return "/reservations" },
		Body: func(d *deal) any { return map[string]any{"itemId": d.Item, "rsvPlace": "seoul"} },
		keep: func(d *deal, b map[string]any) { d.Rsv, _ = b["rsvId"].(string) }},
	{Name: "post message", Function: registry.RequestChat.Name, Method: http.MethodPost, Who: "buyer",
		Path: func(d *deal) string { return "/reservations/" + d.Rsv + "/messages" },
		Body: func(*deal) any { return map[string]any{"text": "still there?"} }},
	{Name: "confirm reservation", Function: registry.ConfirmReservation.Name, Method: http.MethodPatch, Who: "seller",
		Path: func(d *deal) string { return "/reservations/" + d.Rsv },
		Body: func(*deal) any { return meeting }},
	{Name: "pay", Function: registry.Pay.Name, Method: http.MethodPost, Who: "buyer",
		Path: func(*deal) string { return "/payments" },
		Body: func(d *deal) any { return map[string]any{"rsvId": d.Rsv} },
		keep: func(d *deal, b map[string]any) { d.Pay, _ = b["payId"].(string) }},
	// A reviewed deal is closed (SPEC 3.4), so the payment is cancelled
	// and made again before the review.
	{Name: "cancel payment", Function: registry.CancelPayment.Name, Method: http.MethodPatch, Who: "buyer",
		Path: func(d *deal) string { return "/payments/" + d.Pay },
		Body: func(*deal) any { return map[string]any{"status": "DELETED"} }},
	{Name: "pay again", Function: registry.Pay.Name, Method: http.MethodPost, Who: "buyer",
		Path: func(*deal) string { return "/payments" },
		Body: func(d *deal) any { return map[string]any{"rsvId": d.Rsv} },
		keep: func(d *deal, b map[string]any) { d.Pay, _ = b["payId"].(string) }},
	{Name: "write review", Function: registry.WriteReview.Name, Method: http.MethodPost, Who: "buyer",
		Path: func(*deal) string { return "/reviews" },
		Body: func(d *deal) any { return map[string]any{"rsvId": d.Rsv, "score": 5, "comment": "great"} }},
	{Name: "get item", Function: registry.RegisterItem.Name, Method: http.MethodGet, Who: "",
		Path: func(d *deal) string { return "/items/" + d.Item }},
}

func newDeal() *deal {
	return &deal{Seller: "s-" + uuid.NewString(), Buyer: "b-" + uuid.NewString()}
}

func (d *deal) user(who string) string {
	switch who {
	case "seller":
		return d.Seller
	case "buyer":
		return d.Buyer
	}
	return ""
}

// httpRequest builds step st of deal d against base.
func (st step) httpRequest(base string, d *deal, header func(user string) http.Header) request {
	h := header(d.user(st.Who))
	var body []byte
	if st.Body != nil {
		body, _ = json.Marshal(st.Body(d))
		if st.Method == http.MethodPost {
			h.Set(web.IdempotencyKeyHeader, uuid.NewString())
		}
	}
	return request{Method: st.Method, URL: base + st.Path(d), Header: h, Body: body}
}

// recorded is one DynamoDB call of a function during a step.
type recorded struct {
	Function string
	Input    any
}

// captured is the DynamoDB calls of each step of one deal: the step's own
// function's calls (Own) and those of the policies and the MyPage
// projector its events reached (FollowOn).
type captured struct {
	Own, FollowOn map[string][]any // by step name
}

// captureDeal runs one deal through every function in process and
// records their DynamoDB calls.
func captureDeal(ctx context.Context, base *dynamodb.Client, prefix string) (captured, error) {
	var mu sync.Mutex
	var calls []recorded
	record := func(fn string) func(*dynamodb.Options) {
		return func(o *dynamodb.Options) {
			o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
				return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("benchRecord",
					func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
						mu.Lock()
						calls = append(calls, recorded{fn, in.Parameters})
						mu.Unlock()
						return next.HandleInitialize(ctx, in)
					}), middleware.Before)
			})
		}
	}
	auth, err := web.NewAuth([]byte(benchSecret), market.IsUserID)
	if err != nil {
		return captured{}, err
	}
	// The sink delivers every event to the policies and the projector that
	// take it before it answers, so a step's follow-on calls are done when
	// its command answers.
	routes := map[events.Type][]string{}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, url := range routes[events.Type(e.Type())] {
			req, err := cehttp.NewHTTPRequestFromEvent(r.Context(), url, *e)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sink.Close()
	urls := map[string]string{}
	var pubs []*outbox.Publisher
	for _, f := range registry.All {
		if f.Relay {
			continue // the capture relays nothing
		}
		store := dynamo.New(dynamodb.New(base.Options(), record(f.Name)), prefix)
		pub, err := outbox.New(store, outbox.Config{Sink: sink.URL, RetryBackoff: time.Millisecond})
		if err != nil {
			return captured{}, err
		}
		pubs = append(pubs, pub)
		srv := httptest.NewServer(boot.Handler(f, boot.Deps{Store: store, Auth: auth, Publisher: pub}))
		defer srv.Close()
		urls[f.Name] = srv.URL
		if f.Consumes != nil {
			for _, t := range f.Consumes.Types() {
				routes[t] = append(routes[t], srv.URL)
			}
		}
	}
	header := func(user string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		if user != "" {
			tok, _ := auth.Issue(user, time.Hour)
			h.Set("Authorization", "Bearer "+tok)
		}
		return h
	}
	out := captured{Own: map[string][]any{}, FollowOn: map[string][]any{}}
	d := newDeal()
	for _, st := range steps {
		mu.Lock()
		calls = nil
		mu.Unlock()
		code, body, err := st.httpRequest(urls[st.Function], d, header).send(http.DefaultClient)
		if err != nil || code >= 300 {
			return out, fmt.Errorf("capture: %s answered %d %s: %v", st.Name, code, body, err)
		}
		keep(st, d, body)
		// Publishers delete sent outbox rows in the background: wait for
		// those deletes, so that they count for this step.
		for _, pub := range pubs {
			if err := pub.Flush(ctx); err != nil {
				return out, fmt.Errorf("capture: %s: %w", st.Name, err)
			}
		}
		mu.Lock()
		for _, c := range calls {
			if c.Function == st.Function {
				out.Own[st.Name] = append(out.Own[st.Name], c.Input)
			} else {
				out.FollowOn[st.Name] = append(out.FollowOn[st.Name], c.Input)
			}
		}
		mu.Unlock()
	}
	return out, nil
}

func keep(st step, d *deal, body []byte) {
	if st.keep == nil {
		return
	}
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		st.keep(d, m)
	}
}

// stepResult is one use case's numbers: the gateway run, the raw run of
// all the storage work the command causes (RawAll) and the raw run of its
// own calls only (Raw), with their calls and DynamoDB Local's CPU time per
// command (zero when unknown).
type stepResult struct {
	Gateway, RawAll, Raw Summary
	Ops, FollowOps       int // own and follow-on DynamoDB calls per command
	RawErrors            int

	GatewayCPU, RawAllCPU, RawCPU time.Duration
	CPUKnown                      bool
	// GoCPU is the CPU time of the runtime and the function's instances
	// per command in the gateway run (the raw runs have neither).
	GoCPU time.Duration
}

// idleStorageCPU is DynamoDB Local's CPU time per second while the warm
// system idles (outbox relay ticks, probes), measured before measurement
// 1; the gateway runs' CPU per command includes it over their span.
var idleStorageCPU time.Duration

// perCommand is cpu spread over the commands that succeeded.
func perCommand(cpu time.Duration, s Summary) time.Duration {
	if s.N == 0 {
		return 0
	}
	return cpu / time.Duration(s.N)
}

// measureUseCases runs n deals through the gateway step by step with
// workers requests at once, and the captured DynamoDB calls of 2n other
// deals directly, step by step, with as many workers: n deals for the run
// of all the calls, n for the run of the own calls.
func measureUseCases(ctx context.Context, sys *system.System, ddb *dynamodb.Client, capPrefix string, n, workers int, onLoad func(step string, running bool), samples map[string]any) (map[string]stepResult, error) {
	capt, err := captureDeal(ctx, ddb, capPrefix)
	if err != nil {
		return nil, err
	}
	cpu := newStorageCPU(sys.Endpoint)
	results := map[string]stepResult{}

	// Warm-up, untimed: deals through every step, so that each function
	// has an instance, every connection is open and DynamoDB Local's JIT
	// has compiled its hot paths. Without it the first timed run pays for
	// the compilation: the lead measured DynamoDB Local's CPU per
	// registered item at 24 ms in a first round of 280 and 11.5 ms in the
	// next ones.
	warm := make([]*deal, max(workers, n/2))
	for i := range warm {
		warm[i] = newDeal()
	}
	for _, st := range steps {
		var reqs []request
		for _, d := range warm {
			reqs = append(reqs, st.httpRequest(sys.Gateway, d, func(user string) http.Header { return header(sys, user) }))
		}
		as, _ := attack("warm "+st.Name, reqs, workers, 0)
		keepAll(st, warm, as)
		waitQuiet(sys, 30*time.Second)
	}

	if cpu.known() {
		const idleFor = 3 * time.Second
		cpu0 := cpu.now()
		time.Sleep(idleFor)
		idleStorageCPU = (cpu.now() - cpu0) / time.Duration(idleFor.Seconds())
	}

	deals := make([]*deal, n)
	for i := range deals {
		deals[i] = newDeal()
	}
	// The raw runs replay the same calls with fresh ids per deal. Each
	// step's raw runs follow its gateway run at once, so that both meet
	// DynamoDB Local in the same state (JIT, heap, table sizes); running
	// every gateway step first made the ratios drift from run to run.
	mapsOwn, mapsAll := make([]map[string]string, n), make([]map[string]string, n)
	for i := range n {
		mapsOwn[i], mapsAll[i] = map[string]string{}, map[string]string{}
	}
	for _, st := range steps {
		var reqs []request
		for _, d := range deals {
			reqs = append(reqs, st.httpRequest(sys.Gateway, d, func(user string) http.Header { return header(sys, user) }))
		}
		progress("1 gateway: " + st.Name)
		onLoad(st.Function, true)
		cpu0, goCPU0 := cpu.now(), startGoCPU(sys, st.Function)
		as, wall := attack(st.Name, reqs, workers, 0)
		onLoad(st.Function, false)
		keepAll(st, deals, as)
		// The follow-on work runs after the answers; its CPU counts once
		// the events are all handled.
		waitQuiet(sys, 60*time.Second)
		used, goUsed := cpu.now()-cpu0, goCPU0.used()
		sum, lat := summarizeAnswers(as, wall)
		r := results[st.Name]
		r.Gateway, r.GatewayCPU, r.CPUKnown = sum, perCommand(used, sum), cpu.known()
		r.GoCPU = perCommand(goUsed, sum)
		samples["usecase gateway "+st.Name] = lat

		own, follow := capt.Own[st.Name], capt.FollowOn[st.Name]
		r.Ops, r.FollowOps = len(own), len(follow)
		progress(fmt.Sprintf("1 %s: own calls %s; follow-on calls %s", st.Name, opNames(own), opNames(follow)))

		progress("1 raw DynamoDB, all calls: " + st.Name)
		cpu0 = cpu.now()
		r.RawAll, lat = replay(ctx, ddb, "raw all "+st.Name, n, workers, mapsAll, own, follow)
		r.RawAllCPU = perCommand(cpu.now()-cpu0, r.RawAll)
		samples["usecase raw all "+st.Name] = lat

		progress("1 raw DynamoDB, own calls: " + st.Name)
		cpu0 = cpu.now()
		r.Raw, lat = replay(ctx, ddb, "raw own "+st.Name, n, workers, mapsOwn, own, nil)
		r.RawCPU = perCommand(cpu.now()-cpu0, r.Raw)
		r.RawErrors = r.Raw.Errors + r.RawAll.Errors
		samples["usecase raw "+st.Name] = lat
		// The follow-on calls, untimed, so the next step finds the state
		// the events made.
		parallel(n, workers, func(i int) {
			for _, in := range follow {
				_ = call(ctx, ddb, remapInput(in, mapsOwn[i]))
			}
		})
		results[st.Name] = r
	}
	return results, nil
}

// opNames lists the operations of calls, e.g. "GetItem, TransactWriteItems".
func opNames(calls []any) string {
	names := make([]string, len(calls))
	for i, in := range calls {
		names[i] = strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%T", in), "*dynamodb."), "Input")
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// replay runs, for each of n deals on workers goroutines, the calls own
// then the calls follow with the deal's ids (maps[i]), and times each
// deal's calls together. A deal with a failed call counts as an error.
func replay(ctx context.Context, ddb *dynamodb.Client, name string, n, workers int, maps []map[string]string, own, follow []any) (Summary, []time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	start := time.Now()
	parallel(n, workers, func(i int) {
		t0 := time.Now()
		var failed error
		for _, calls := range [][]any{own, follow} {
			for _, in := range calls {
				if err := call(ctx, ddb, remapInput(in, maps[i])); err != nil && failed == nil {
					failed = err
				}
			}
		}
		el := time.Since(t0)
		mu.Lock()
		defer mu.Unlock()
		if failed != nil {
			errs++
			if errs == 1 {
				warnf("%s: %v", name, failed)
			}
			return
		}
		lat = append(lat, el)
	})
	return summarize(lat, errs, time.Since(start)), lat
}

func keepAll(st step, deals []*deal, as []answer) {
	if st.keep == nil {
		return
	}
	// Answers come in any order: find each deal by what the answer names.
	bySeller, byItem, byRsv := map[string]*deal{}, map[string]*deal{}, map[string]*deal{}
	for _, d := range deals {
		bySeller[d.Seller], byItem[d.Item], byRsv[d.Rsv] = d, d, d
	}
	for _, a := range as {
		var m map[string]any
		if json.Unmarshal(a.Body, &m) != nil {
			continue
		}
		s := func(k string) string { v, _ := m[k].(string); return v }
		var d *deal
		switch st.Name {
		case "register item":
			d = bySeller[s("sellerId")]
		case "request chat":
			d = byItem[s("itemId")]
		case "pay":
			d = byRsv[s("rsvId")]
		}
		if d != nil {
			st.keep(d, m)
		}
	}
}

// parallel runs f(0..n-1) on workers goroutines.
func parallel(n, workers int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// remapString swaps every UUID in s for the deal's own fresh one.
func remapString(s string, m map[string]string) string {
	return uuidPattern.ReplaceAllStringFunc(s, func(id string) string {
		if fresh, ok := m[id]; ok {
			return fresh
		}
		fresh := uuid.NewString()
		m[id] = fresh
		return fresh
	})
}

func remapAV(av types.AttributeValue, m map[string]string) types.AttributeValue {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: remapString(v.Value, m)}
	case *types.AttributeValueMemberSS:
		out := make([]string, len(v.Value))
		for i, s := range v.Value {
			out[i] = remapString(s, m)
		}
		return &types.AttributeValueMemberSS{Value: out}
	case *types.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: remapItem(v.Value, m)}
	case *types.AttributeValueMemberL:
		out := make([]types.AttributeValue, len(v.Value))
		for i, e := range v.Value {
			out[i] = remapAV(e, m)
		}
		return &types.AttributeValueMemberL{Value: out}
	}
	return av
}

func remapItem(item map[string]types.AttributeValue, m map[string]string) map[string]types.AttributeValue {
	if item == nil {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(item))
	for k, v := range item {
		out[k] = remapAV(v, m)
	}
	return out
}

// remapInput copies a DynamoDB call's input with every id remapped. The
// client token of a transaction is dropped: the SDK makes a new one.
func remapInput(in any, m map[string]string) any {
	switch v := in.(type) {
	case *dynamodb.GetItemInput:
		c := *v
		c.Key = remapItem(v.Key, m)
		return &c
	case *dynamodb.PutItemInput:
		c := *v
		c.Item, c.ExpressionAttributeValues = remapItem(v.Item, m), remapItem(v.ExpressionAttributeValues, m)
		return &c
	case *dynamodb.UpdateItemInput:
		c := *v
		c.Key, c.ExpressionAttributeValues = remapItem(v.Key, m), remapItem(v.ExpressionAttributeValues, m)
		return &c
	case *dynamodb.DeleteItemInput:
		c := *v
		c.Key, c.ExpressionAttributeValues = remapItem(v.Key, m), remapItem(v.ExpressionAttributeValues, m)
		return &c
	case *dynamodb.QueryInput:
		c := *v
		c.ExpressionAttributeValues, c.ExclusiveStartKey = remapItem(v.ExpressionAttributeValues, m), remapItem(v.ExclusiveStartKey, m)
		return &c
	case *dynamodb.BatchWriteItemInput:
		c := *v
		c.RequestItems = map[string][]types.WriteRequest{}
		for table, reqs := range v.RequestItems {
			for _, r := range reqs {
				var w types.WriteRequest
				if r.PutRequest != nil {
					w.PutRequest = &types.PutRequest{Item: remapItem(r.PutRequest.Item, m)}
				}
				if r.DeleteRequest != nil {
					w.DeleteRequest = &types.DeleteRequest{Key: remapItem(r.DeleteRequest.Key, m)}
				}
				c.RequestItems[table] = append(c.RequestItems[table], w)
			}
		}
		return &c
	case *dynamodb.TransactWriteItemsInput:
		c := *v
		c.ClientRequestToken = nil
		c.TransactItems = make([]types.TransactWriteItem, len(v.TransactItems))
		for i, t := range v.TransactItems {
			var w types.TransactWriteItem
			if t.Put != nil {
				p := *t.Put
				p.Item, p.ExpressionAttributeValues = remapItem(p.Item, m), remapItem(p.ExpressionAttributeValues, m)
				w.Put = &p
			}
			if t.Update != nil {
				u := *t.Update
				u.Key, u.ExpressionAttributeValues = remapItem(u.Key, m), remapItem(u.ExpressionAttributeValues, m)
				w.Update = &u
			}
			if t.Delete != nil {
				d := *t.Delete
				d.Key, d.ExpressionAttributeValues = remapItem(d.Key, m), remapItem(d.ExpressionAttributeValues, m)
				w.Delete = &d
			}
			if t.ConditionCheck != nil {
				cc := *t.ConditionCheck
				cc.Key, cc.ExpressionAttributeValues = remapItem(cc.Key, m), remapItem(cc.ExpressionAttributeValues, m)
				w.ConditionCheck = &cc
			}
			c.TransactItems[i] = w
		}
		return &c
	}
	return in
}

// call sends one DynamoDB call.
func call(ctx context.Context, c *dynamodb.Client, in any) error {
	var err error
	switch v := in.(type) {
	case *dynamodb.GetItemInput:
		_, err = c.GetItem(ctx, v)
	case *dynamodb.PutItemInput:
		_, err = c.PutItem(ctx, v)
	case *dynamodb.UpdateItemInput:
		_, err = c.UpdateItem(ctx, v)
	case *dynamodb.DeleteItemInput:
		_, err = c.DeleteItem(ctx, v)
	case *dynamodb.QueryInput:
		_, err = c.Query(ctx, v)
	case *dynamodb.ScanInput:
		_, err = c.Scan(ctx, v)
	case *dynamodb.BatchWriteItemInput:
		_, err = c.BatchWriteItem(ctx, v)
	case *dynamodb.TransactWriteItemsInput:
		_, err = c.TransactWriteItems(ctx, v)
	case *dynamodb.DescribeTableInput:
		_, err = c.DescribeTable(ctx, v)
	default:
		err = fmt.Errorf("bench: cannot replay %T", in)
	}
	return err
}
