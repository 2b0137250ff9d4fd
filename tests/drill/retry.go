package drill

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/tests/system"
)

// viewFunction is the mypage trigger's subscriber.
const viewFunction = "mypage"

// Retry makes the mypage trigger's subscriber fail transiently: the mypage
// function is taken down while an item is listed, so the broker's
// deliveries of its event get 503 and are retried with backoff
// (knative/eventing/triggers.yaml: 40 retries, linear from 1 s, 13 minutes
// in all). The function comes back after 1.5 s, well within that budget,
// and the event must then be
// applied, with nothing dead-lettered. Then a poison event (an item with no
// seller, which the subscriber refuses with 400) is sent to the broker
// ingress by hand: it must be dead-lettered after one attempt, to the
// topic carrot-dead-letters.
func Retry(ctx context.Context, e *Env, opts Options) (*Report, error) {
	return e.drill(ctx, "retry", "a subscriber failing transiently is retried; a poison event is dead-lettered", opts, func(r *run) error {
		return r.retry(ctx)
	})
}

func (r *run) retry(ctx context.Context) error {
	const seller = "retry-seller"
	warm, err := r.registerItem(ctx, seller, "warms mypage up", 1000)
	if err != nil {
		return err
	}
	if _, err := r.eventuallyPage(ctx, seller, warm, func(p page) bool { return p.ItemName != "" }); err != nil {
		return err
	}
	before, err := r.quiet(ctx)
	if err != nil {
		return err
	}
	if err := r.transientFailure(ctx, seller, before); err != nil {
		return err
	}
	return r.poison(ctx)
}

// transientFailure lists an item while mypage is down and checks that its
// event is retried and eventually applied.
func (r *run) transientFailure(ctx context.Context, seller string, before system.Status) error {
	if err := r.env.SetOutage(ctx, viewFunction, true); err != nil {
		return err
	}
	r.mark("mypage outage")
	defer func() { _ = r.env.SetOutage(context.WithoutCancel(ctx), viewFunction, false) }()
	item, err := r.registerItem(ctx, seller, "listed while mypage is down", 2000)
	if err != nil {
		return err
	}
	// The trigger's counts move once a record's delivery is over, not at
	// each attempt, so the outage lasts a fixed 1.5 s: the first attempt
	// and the retries at once and at 1 s fail, the one at 3 s succeeds.
	if err := sleep(ctx, 1500*time.Millisecond); err != nil {
		return err
	}
	if err := r.env.SetOutage(ctx, viewFunction, false); err != nil {
		return err
	}
	r.mark("mypage back")
	_, err = r.eventuallyPage(ctx, seller, item, func(p page) bool { return p.ItemStatus == "CREATED" })
	r.check("the event was applied once mypage was back", err == nil, "%v", errText(err))
	after, err := r.quiet(ctx)
	if err != nil {
		return err
	}
	b, a := before.Trigger(viewFunction), after.Trigger(viewFunction)
	r.check("the failing delivery was retried", a.Retried > b.Retried, "retried count %d → %d", b.Retried, a.Retried)
	r.row("mypage trigger", "delivered +%d, retried +%d (attempts of the failing event: about %d), dead-lettered +%d",
		a.Delivered-b.Delivered, a.Retried-b.Retried, 1+a.Retried-b.Retried, a.DeadLettered-b.DeadLettered)
	r.check("delivered, nothing dead-lettered or dropped", a.Delivered > b.Delivered && a.DeadLettered == b.DeadLettered && a.Dropped == b.Dropped,
		"delivered %d → %d, dead-lettered %d → %d, dropped %d → %d", b.Delivered, a.Delivered, b.DeadLettered, a.DeadLettered, b.Dropped, a.Dropped)
	r.traceRetries(ctx, item)
	return nil
}

// traceRetries finds the trace of the retried delivery of item's event in
// Jaeger, as the seed's retry test looked at Jaeger, and keeps it for the
// report's waterfall; the trace id is a row of the report. Without Jaeger
// (CARROT_TRACING=off, or its first build still running) it says so and
// checks nothing.
func (r *run) traceRetries(ctx context.Context, item string) {
	jaeger := os.Getenv("CARROT_JAEGER_URL")
	if jaeger == "" {
		jaeger = JaegerQueryURL
	}
	const operation = "deliver " + string(events.ItemRegistered) + " to " + viewFunction
	// Spans reach Jaeger in batches, every 5 s by default.
	var id string
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		id, err = FindTrace(ctx, jaeger, "carrot", operation, "cloudevents.event_subject", item)
		if err == nil || time.Now().After(deadline) || sleep(ctx, time.Second) != nil {
			break
		}
	}
	if err != nil {
		r.row("trace", "none saved: %v", err)
		return
	}
	// The subscriber's spans come in a batch of their own, after the
	// broker's: read the trace again until they are in it.
	var trace system.Trace
	for {
		trace, err = FetchTrace(ctx, jaeger, id)
		if (err == nil && len(trace.Named(viewFunction, "process ")) > 0) || time.Now().After(deadline) || sleep(ctx, time.Second) != nil {
			break
		}
	}
	if err != nil {
		r.row("trace", "%s, not read: %v", id, err)
		return
	}
	retries := 0
	for _, s := range trace {
		if s.Attributes["carrot.delivery.retry"] == "true" {
			retries++
		}
	}
	r.mu.Lock()
	r.rep.TraceID, r.rep.trace = id, trace
	r.mu.Unlock()
	r.row("trace", "%s: %d spans, %d retried attempts (%s/api/traces/%s)", id, len(trace), retries, jaeger, id)
	r.logf("trace of the retried delivery: %s", id)
}

// PoisonPrefix starts the id of every poison event the retry drill sends.
const PoisonPrefix = "drill-poison-"

// poison sends an event no subscriber can apply to the broker ingress and
// checks that it is dead-lettered after one attempt.
func (r *run) poison(ctx context.Context) error {
	before, err := r.quiet(ctx)
	if err != nil {
		return err
	}
	e := cloudevents.NewEvent()
	e.SetID(fmt.Sprintf("%s%d", PoisonPrefix, time.Now().UnixNano()))
	e.SetType(string(events.ItemRegistered))
	e.SetSource("/drill/retry")
	e.SetSubject("no-such-item")
	e.SetExtension(events.PartitionKeyExtension, "no-such-item")
	if err := e.SetData(cloudevents.ApplicationJSON, map[string]any{"itemId": "no-such-item", "name": "ghost"}); err != nil {
		return err
	}
	if err := r.env.SendEvent(ctx, e); err != nil {
		return err
	}
	r.mark("poison event sent")
	want := before.Trigger(viewFunction).DeadLettered + 1
	_, ok := r.waitStatus(ctx, r.opts.Settle, func(st system.Status) bool { return st.Trigger(viewFunction).DeadLettered >= want })
	r.check("the poison event was dead-lettered", ok, "event %s; mypage trigger dead-lettered count reached %d: %t", e.ID(), want, ok)
	after, err := r.quiet(ctx)
	if err != nil {
		return err
	}
	b, a := before.Trigger(viewFunction), after.Trigger(viewFunction)
	r.row("poison event", "%s: %d attempt(s), dead-lettered +%d to topic carrot-dead-letters", e.ID(), 1+a.Retried-b.Retried, a.DeadLettered-b.DeadLettered)
	r.check("a poison event is not retried (400)", a.Retried == b.Retried && a.Delivered == b.Delivered,
		"retried %d → %d, delivered %d → %d", b.Retried, a.Retried, b.Delivered, a.Delivered)
	res := r.env.Do(ctx, "retry-seller", http.MethodGet, "/myPages/no-such-item", nil)
	answer := res.String()
	if res.Status == http.StatusNotFound {
		answer = "404 Not Found"
	}
	r.check("the poison event did not reach MyPage", res.Status == http.StatusNotFound, "GET /myPages/no-such-item: %s", answer)
	return nil
}
