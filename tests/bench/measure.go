package main

// Measurements 2, 4, 6 and 7, on the running system.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/tests/system"
)

// timed sends r once with client and times it; only a 2xx counts.
func timed(client *http.Client, r request) (time.Duration, bool) {
	t0 := time.Now()
	code, _, err := r.send(client)
	return time.Since(t0), err == nil && code >= 200 && code < 300
}

// measureOverhead (2) times the same read through the gateway and straight
// to the instance's port, one request at a time, alternating, so both see
// the same machine.
func measureOverhead(sys *system.System, n int, samples map[string]any) (gw, direct Summary, err error) {
	progress("2 gateway vs direct")
	itemID, err := listLamp(sys)
	if err != nil {
		return gw, direct, err
	}
	_, port, err := instance(sys, "register-item")
	if err != nil {
		return gw, direct, err
	}
	viaGW := request{Method: http.MethodGet, URL: sys.Gateway + "/items/" + itemID}
	viaPort := request{Method: http.MethodGet, URL: fmt.Sprintf("http://127.0.0.1:%d/items/%s", port, itemID)}
	a, b := paired(viaGW, viaPort, n)
	samples["overhead gateway"], samples["overhead direct"] = a.samples, b.samples
	return a.summary(), b.summary(), nil
}

// listLamp lists an item on sys for the reads of measurement 2.
func listLamp(sys *system.System) (string, error) {
	res := sys.Do(context.Background(), "overhead-seller", http.MethodPost, "/items", map[string]any{"name": "lamp", "category": "furniture", "price": 1000})
	if res.Status != http.StatusCreated {
		return "", fmt.Errorf("overhead: create item: %s", res)
	}
	var item struct{ ItemID string }
	err := res.Decode(&item)
	return item.ItemID, err
}

// timings are the latencies of one side of a paired run, and its failures.
type timings struct {
	samples []time.Duration
	errors  int
}

func (t *timings) add(d time.Duration, ok bool) {
	if ok {
		t.samples = append(t.samples, d)
	} else {
		t.errors++
	}
}

func (t timings) summary() Summary { return summarize(t.samples, t.errors, 0) }

// paired sends x and y n times each, one request at a time, after n/10 of
// each to warm up, alternating which goes first, so that both see the
// same machine at the same moments.
func paired(x, y request, n int) (xs, ys timings) {
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < n/10; i++ {
		timed(client, x)
		timed(client, y)
	}
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			xs.add(timed(client, x))
			ys.add(timed(client, y))
		} else {
			ys.add(timed(client, y))
			xs.add(timed(client, x))
		}
	}
	return xs, ys
}

// measureEventPath (4) registers items at rate per second for dur and
// times each from its 201 to the moment GET /myPages/{itemId} shows it,
// polling every poll.
func measureEventPath(sys *system.System, rate int, dur, poll time.Duration, samples map[string]any) (Summary, Summary, error) {
	progress(fmt.Sprintf("4 event path at %d commands/s", rate))
	n := int(float64(rate) * dur.Seconds())
	seller := "ep-" + uuid.NewString()
	reqs := make([]request, n)
	for i := range reqs {
		body, _ := json.Marshal(map[string]any{"name": "chair", "category": "furniture", "price": 500 + i})
		reqs[i] = request{Method: http.MethodPost, URL: sys.Gateway + "/items", Header: header(sys, seller), Body: body}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	var lat []time.Duration
	missing := 0
	var wg sync.WaitGroup
	watch := func(itemID string, acked time.Time) {
		defer wg.Done()
		deadline := acked.Add(10 * time.Second)
		for time.Now().Before(deadline) {
			code, _, err := request{Method: http.MethodGet, URL: sys.Gateway + "/myPages/" + itemID, Header: header(sys, seller)}.send(client)
			if err == nil && code == http.StatusOK {
				d := time.Since(acked)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				return
			}
			time.Sleep(poll)
		}
		mu.Lock()
		missing++
		mu.Unlock()
	}
	// The load runs through vegeta at a constant rate; each answer starts
	// its watcher as soon as it arrives.
	results := make(chan answer, n)
	var cmds []answer
	done := make(chan struct{})
	go func() {
		for a := range results {
			cmds = append(cmds, a)
			var it struct{ ItemID string }
			if a.Code == http.StatusCreated && json.Unmarshal(a.Body, &it) == nil {
				wg.Add(1)
				go watch(it.ItemID, a.At.Add(a.Latency))
			}
		}
		close(done)
	}()
	attackStream("event path", reqs, 32, rate, results)
	<-done
	wg.Wait()
	cmdSum, _ := summarizeAnswers(cmds, dur)
	samples["eventpath"] = lat
	s := summarize(lat, missing, 0)
	return s, cmdSum, nil
}

// measureMyPage (6) fills the view with rows rows through the MyPage
// projector (as the events would), then reads pages of 100 through the
// gateway, following cursors, and the same pages from the Store directly.
func measureMyPage(ctx context.Context, sys *system.System, ddb *dynamodb.Client, rows, reads int, samples map[string]any) (gw, raw Summary, err error) {
	progress(fmt.Sprintf("6 MyPage: filling %d rows", rows))
	store := dynamo.New(ddb, sys.Prefix)
	svc := &app.Service{Store: store, Views: store, Source: "/carrot/bench"}
	project := svc.Project
	var failed error
	var mu sync.Mutex
	parallel(rows, 16, func(i int) {
		e, err := events.New(ctx, events.ItemRegistered, events.Meta{ID: uuid.NewString(), Source: "/carrot/register-item", Time: time.Now()},
			&events.Item{ItemID: uuid.NewString(), SellerID: fmt.Sprintf("mp-seller-%d", i%100), Name: "book", Category: "books",
				Price: int64(i), Status: "CREATED", Version: 1, CreatedAt: time.Now(), UpdatedAt: time.Now()})
		if err == nil {
			err = project(ctx, e)
		}
		if err != nil {
			mu.Lock()
			failed = err
			mu.Unlock()
		}
	})
	if failed != nil {
		return gw, raw, fmt.Errorf("mypage: fill: %w", failed)
	}
	progress("6 MyPage: reading pages of 100")
	// The cursors of the first pages, from the store.
	var cursors []string
	cursor := ""
	for len(cursors) < 50 {
		_, next, err := store.Rows(ctx, app.Page{Limit: 100, Cursor: cursor})
		if err != nil {
			return gw, raw, err
		}
		cursors = append(cursors, cursor)
		if next == "" {
			break
		}
		cursor = next
	}
	client := &http.Client{Timeout: 10 * time.Second}
	page := func(i int) request {
		u := sys.Gateway + "/myPages?limit=100"
		if c := cursors[i%len(cursors)]; c != "" {
			u += "&cursor=" + url.QueryEscape(c)
		}
		return request{Method: http.MethodGet, URL: u, Header: header(sys, "mp-reader")}
	}
	for i := 0; i < 20; i++ {
		timed(client, page(i))
	}
	var a, b []time.Duration
	ea, eb := 0, 0
	for i := 0; i < reads; i++ {
		if d, ok := timed(client, page(i)); ok {
			a = append(a, d)
		} else {
			ea++
		}
		t0 := time.Now()
		if _, _, err := store.Rows(ctx, app.Page{Limit: 100, Cursor: cursors[i%len(cursors)]}); err == nil {
			b = append(b, time.Since(t0))
		} else {
			eb++
		}
	}
	samples["mypage gateway"], samples["mypage store"] = a, b
	return summarize(a, ea, 0), summarize(b, eb, 0), nil
}

// sampleRSS reads fn's instances' resident size every period until stop
// is closed, and returns the largest.
func sampleRSS(sys *system.System, fn string, period time.Duration, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			if st, err := sys.Status(context.Background()); err == nil {
				for _, in := range st.Function(fn).Instances {
					if r, err := rss(in.PID); err == nil && r > peak {
						peak = r
					}
				}
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}
