package drill

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/carrot-market/carrot/tests/system"
)

// payFunction serves POST /payments.
const payFunction = "pay"

// PaymentDown takes the pay function down (its instances killed, none can
// start) for 10 s (3 s in the short form). Meanwhile payments must answer
// 503 with Retry-After and nothing else, while items, chats, confirmations,
// payment cancellations and MyPage keep answering 2xx and MyPage shows
// their effects. Once pay is back, the payments refused during the outage
// succeed and reach MyPage, and no trigger dead-letters or drops an event.
func PaymentDown(ctx context.Context, e *Env, opts Options) (*Report, error) {
	return e.drill(ctx, "paymentdown", "pay's instances cannot start; the rest keeps working", opts, func(r *run) error {
		return r.paymentDown(ctx, pick(opts, 10*time.Second, 3*time.Second))
	})
}

func (r *run) paymentDown(ctx context.Context, outage time.Duration) error {
	const seller, buyer = "paydown-seller", "paydown-buyer"
	deals, err := r.dealsUpTo(ctx, seller, buyer, dealGoal{"waits for pay", "confirm"}, dealGoal{"paid before", "pay"})
	if err != nil {
		return err
	}
	waiting, paid := deals[0], deals[1]
	before, err := r.quiet(ctx)
	if err != nil {
		return err
	}

	if err := r.env.SetOutage(ctx, payFunction, true); err != nil {
		return err
	}
	r.mark("pay outage")
	defer func() { _ = r.env.SetOutage(context.WithoutCancel(ctx), payFunction, false) }()
	st, down := r.waitStatus(ctx, 10*time.Second, func(st system.Status) bool {
		f := st.Function(payFunction)
		return f.Outage && len(f.Instances) == 0
	})
	r.check("the status shows pay down, with no instance", down, "outage %t, %d instances", st.Function(payFunction).Outage, len(st.Function(payFunction).Instances))

	during, fresh, err := r.keepWorking(ctx, seller, buyer, waiting, paid, outage)
	if err != nil {
		return err
	}
	r.checkRefusals(during.refusals)
	r.check("every other use case answered 2xx", len(during.failed) == 0, "%d requests; failed: %v", during.others, first(during.failed, 5))
	_, err = r.eventuallyPage(ctx, buyer, fresh.item, func(p page) bool { return p.RsvStatus == "CONFIRMED" && p.ItemStatus == "RESERVED" })
	r.check("MyPage shows the deal made during the outage", err == nil, "%v", errText(err))
	_, err = r.eventuallyPage(ctx, buyer, paid.item, func(p page) bool { return p.PayStatus == "DELETED" })
	r.check("MyPage shows the payment cancelled during the outage", err == nil, "%v", errText(err))

	if err := r.env.SetOutage(ctx, payFunction, false); err != nil {
		return err
	}
	r.mark("pay back")
	for _, d := range []deal{waiting, fresh} {
		res := r.retrying(ctx, buyer, http.MethodPost, "/payments", map[string]any{"rsvId": d.rsv})
		r.check("payment succeeds after the outage", res.Status == http.StatusCreated, "reservation %s: %s", d.rsv, brief(res))
		_, err := r.eventuallyPage(ctx, buyer, d.item, func(p page) bool {
			return p.PayStatus == "APPROVED" && p.RsvStatus == "COMPLETED" && p.ItemStatus == "SOLDOUT"
		})
		r.check("its effects reach MyPage (COMPLETED, SOLDOUT)", err == nil, "%s: %v", d.item, errText(err))
	}
	after, err := r.quiet(ctx)
	if err != nil {
		return err
	}
	r.checkNoEventLost(before, after)
	return nil
}

// outageTraffic is what the use cases answered during an outage.
type outageTraffic struct {
	refusals []system.Response // the answers of the function that is down
	others   int
	failed   []string // other use cases that did not answer 2xx
}

// keepWorking runs, for the outage's duration, the use cases that do not
// need pay, and tries to pay: a deal up to confirmation on a new item, a
// chat message, a payment cancellation, item and MyPage reads. It returns
// what they answered and the new deal.
func (r *run) keepWorking(ctx context.Context, seller, buyer string, waiting, paid deal, outage time.Duration) (outageTraffic, deal, error) {
	var t outageTraffic
	other := func(res system.Response, what string) {
		t.others++
		if !res.OK() {
			t.failed = append(t.failed, what+": "+res.String())
		}
	}
	fresh, err := r.dealUpTo(ctx, seller, buyer, "deal during outage", "confirm")
	if err != nil {
		t.failed = append(t.failed, err.Error())
	}
	t.others += 3
	other(r.do(ctx, seller, http.MethodPatch, "/payments/"+paid.pay, map[string]any{"status": "DELETED"}), "cancel payment")
	end := time.Now().Add(outage)
	for i := 0; i == 0 || time.Now().Before(end); i++ {
		t.refusals = append(t.refusals, r.do(ctx, buyer, http.MethodPost, "/payments", map[string]any{"rsvId": waiting.rsv}))
		other(r.do(ctx, buyer, http.MethodPost, "/reservations/"+fresh.rsv+"/messages", map[string]any{"text": fmt.Sprintf("still there? %d", i)}), "chat message")
		other(r.do(ctx, "", http.MethodGet, "/items/"+fresh.item, nil), "read item")
		other(r.do(ctx, buyer, http.MethodGet, "/myPages?userId="+buyer, nil), "MyPage")
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return t, fresh, err
		}
	}
	return t, fresh, nil
}

// checkRefusals checks that the function that is down answered only 503
// with Retry-After, and fast.
func (r *run) checkRefusals(refusals []system.Response) {
	var wrong []string
	var slowest time.Duration
	for _, res := range refusals {
		slowest = max(slowest, res.Latency)
		if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			wrong = append(wrong, res.String())
		}
	}
	r.check("payments answered 503 with Retry-After during the outage", len(wrong) == 0 && len(refusals) > 0,
		"%d attempts; wrong: %v", len(refusals), first(wrong, 3))
	r.timing("refused within 1 s", slowest < time.Second, "slowest refusal %s", ms(slowest))
}

// quiet waits until every trigger has caught up with the broker topic
// (lag 0) and its counts have not moved for 2 s, and returns that status.
func (r *run) quiet(ctx context.Context) (system.Status, error) {
	var last system.Status
	var since time.Time
	st, ok := r.waitStatus(ctx, r.opts.Settle, func(st system.Status) bool {
		caughtUp := st.CaughtUp()
		if !caughtUp || !st.SameTriggerCounts(last) {
			since = time.Now()
		}
		last = st
		return caughtUp && time.Since(since) >= 2*time.Second
	})
	if !ok {
		return st, fmt.Errorf("the triggers did not come to rest within %s: %+v", r.opts.Settle, st.Triggers)
	}
	return st, nil
}

// checkNoEventLost reconciles the trigger counts of two quiet moments:
// everything was delivered (lag 0 at both), nothing dead-lettered or
// dropped in between.
func (r *run) checkNoEventLost(before, after system.Status) {
	var lost []string
	for _, tr := range after.Triggers {
		b := before.Trigger(tr.Name)
		r.row("trigger "+tr.Name, "delivered +%d, retried +%d, dead-lettered +%d, dropped +%d, filtered +%d",
			tr.Delivered-b.Delivered, tr.Retried-b.Retried, tr.DeadLettered-b.DeadLettered, tr.Dropped-b.Dropped, tr.Filtered-b.Filtered)
		if tr.DeadLettered != b.DeadLettered || tr.Dropped != b.Dropped {
			lost = append(lost, tr.Name)
		}
	}
	r.check("no event lost: all delivered, none dead-lettered or dropped", len(lost) == 0, "lag 0 on every trigger; triggers that lost events: %v", lost)
}

func errText(err error) string {
	if err == nil {
		return "yes"
	}
	return err.Error()
}
