package drill

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/carrot-market/carrot/tests/system"
)

// coldRequest is a request that one function answers 2xx.
type coldRequest struct {
	function string
	user     string
	method   string
	path     string
	body     any
}

// ColdStart measures, for every function of the HTTP API, the time from
// zero instances to its first answer. A few deals are set up first, so that
// every function has a request it answers 2xx; then, function by function,
// the drill waits until it has no instance and sends that request. Reads
// go first and writes last, so that the events a write emits wake no
// function still to be measured.
func ColdStart(ctx context.Context, e *Env, opts Options) (*Report, error) {
	return e.drill(ctx, "coldstart", "time to first answer from zero, per function", opts, func(r *run) error {
		return r.coldStart(ctx)
	})
}

func (r *run) coldStart(ctx context.Context) error {
	const seller, buyer = "cold-seller", "cold-buyer"
	deals, err := r.dealsUpTo(ctx, seller, buyer, dealGoal{"cold review", "pay"}, dealGoal{"cold cancel", "pay"}, dealGoal{"cold confirm", "chat"})
	if err != nil {
		return err
	}
	reviewed, cancelled, confirmed := deals[0], deals[1], deals[2]
	// A review needs the reservation COMPLETED, which the payment's event
	// does through the broker.
	if _, err := r.eventuallyPage(ctx, buyer, reviewed.item, func(p page) bool { return p.RsvStatus == "COMPLETED" }); err != nil {
		return err
	}
	requests := []coldRequest{
		{"mypage", buyer, http.MethodGet, "/myPages/" + reviewed.item, nil},
		{itemsFunction, "", http.MethodGet, "/items/" + reviewed.item, nil},
		{chatFunction, buyer, http.MethodGet, "/reservations/" + reviewed.rsv, nil},
		{payFunction, buyer, http.MethodGet, "/payments/" + reviewed.pay, nil},
		{"confirm-reservation", seller, http.MethodPatch, "/reservations/" + confirmed.rsv, confirmation()},
		{"cancel-payment", buyer, http.MethodPatch, "/payments/" + cancelled.pay, map[string]any{"status": "DELETED"}},
		{"write-review", buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": reviewed.rsv, "score": 5}},
	}
	r.mark("set up")
	var slowest time.Duration
	for _, req := range requests {
		latency, err := r.coldAnswer(ctx, req)
		if err != nil {
			return err
		}
		slowest = max(slowest, latency)
	}
	r.timing("every cold start under 5 s", slowest < 5*time.Second, "slowest %s", ms(slowest))
	return nil
}

// coldAnswer waits until req's function has no instance, sends req, and
// checks that it started an instance and answered 2xx.
func (r *run) coldAnswer(ctx context.Context, req coldRequest) (time.Duration, error) {
	r.logf("waiting for %s to scale to zero", req.function)
	before, zero := r.waitStatus(ctx, r.opts.ScaleDownWait, func(st system.Status) bool {
		return len(st.Function(req.function).Instances) == 0
	})
	r.mark("cold " + req.function)
	res := r.do(ctx, req.user, req.method, req.path, req.body)
	after, err := r.status(ctx)
	if err != nil {
		return 0, err
	}
	started := after.Function(req.function).Started - before.Function(req.function).Started
	r.row("cold start "+req.function, "%s (%s %s → %d)", ms(res.Latency), req.method, req.path, res.Status)
	r.check(fmt.Sprintf("%s answered from zero", req.function), zero && started >= 1 && res.OK(),
		"at zero before: %t; instances started: %d; answer: %s", zero, started, brief(res))
	return res.Latency, nil
}
