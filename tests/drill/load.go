package drill

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Load is a closed-loop load: Concurrency clients, each sending its next
// request as soon as its previous one is answered, for Duration. That is
// what siege -c N -t T does, and what Knative's concurrency-based
// autoscaler reacts to.
//
// It runs on vegeta's Attacker with an unlimited rate (the zero
// ConstantPacer) and exactly Concurrency workers (Workers = MaxWorkers):
// the pacer hands out a hit only when a worker is free, so no more than
// Concurrency requests are ever in flight and never fewer while the load
// lasts, however slow the answers. A fixed rate would instead pile up
// requests when the system slows down, which is another drill.
type Load struct {
	Name        string
	Concurrency int
	Duration    time.Duration
	// Timeout bounds each request; 0 means 30 s (the functions'
	// timeoutSeconds, after which the gateway answers 503 anyway).
	Timeout time.Duration
	// Next returns the request number seq. It is called from many
	// goroutines at once.
	Next func(seq uint64) Request
}

// Request is one request of a load.
type Request struct {
	User   string // "" sends no token
	Method string
	Path   string
	Body   any // sent as JSON; nil sends none
}

// load runs l against the public API, records every answer and returns
// them in the order they were sent. The progress bar follows it.
func (r *run) load(ctx context.Context, l Load) ([]vegeta.Result, error) {
	if l.Timeout <= 0 {
		l.Timeout = 30 * time.Second
	}
	targeter, err := r.targeter(ctx, l.Next)
	if err != nil {
		return nil, err
	}
	attacker := vegeta.NewAttacker(
		vegeta.Workers(uint64(l.Concurrency)), vegeta.MaxWorkers(uint64(l.Concurrency)),
		vegeta.Connections(l.Concurrency), vegeta.MaxConnections(l.Concurrency),
		vegeta.KeepAlive(true), vegeta.Timeout(l.Timeout), vegeta.Redirects(vegeta.NoFollow),
	)
	stop := context.AfterFunc(ctx, func() { attacker.Stop() })
	defer stop()
	r.logf("%s: %d clients for %s", l.Name, l.Concurrency, l.Duration)
	r.bar.start(l.Name, l.Duration)
	defer r.bar.stop()

	var results []vegeta.Result
	for res := range attacker.Attack(targeter, vegeta.ConstantPacer{}, l.Duration, l.Name) {
		results = append(results, *res)
		r.add(*res)
		r.bar.hit(res.Code)
	}
	return results, ctx.Err()
}

// targeter turns next into a vegeta Targeter, adding the users' tokens
// (Env caches them; a drill asks for them before its load so that the
// load measures the API only).
func (r *run) targeter(ctx context.Context, next func(uint64) Request) (vegeta.Targeter, error) {
	var seq atomic.Uint64
	return func(t *vegeta.Target) error {
		req := next(seq.Add(1) - 1)
		header := http.Header{}
		if req.User != "" {
			tok, err := r.env.Token(ctx, req.User)
			if err != nil {
				return err
			}
			header.Set("Authorization", "Bearer "+tok)
		}
		var body []byte
		if req.Body != nil {
			var err error
			if body, err = json.Marshal(req.Body); err != nil {
				return err
			}
			header.Set("Content-Type", "application/json")
		}
		*t = vegeta.Target{Method: req.Method, URL: r.env.Gateway + req.Path, Body: body, Header: header}
		return nil
	}, nil
}

// ok2xx reports whether a vegeta result is a 2xx answer.
func ok2xx(res vegeta.Result) bool { return res.Code >= 200 && res.Code < 300 }

// countOK counts the 2xx answers of a load.
func countOK(results []vegeta.Result) int {
	n := 0
	for _, res := range results {
		if ok2xx(res) {
			n++
		}
	}
	return n
}

// countCodes counts results by status code, as the summary's histogram
// prints them: "200: 12  503: 3  no answer: 1".
func countCodes(results []vegeta.Result) string {
	counts := map[string]int{}
	for _, res := range results {
		counts[strconv.Itoa(int(res.Code))]++
	}
	return histogram(counts)
}
