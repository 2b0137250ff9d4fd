package drill

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/broker"
	"github.com/carrot-market/carrot/tests/system"
)

// After a fault heals, the checker must find nothing within cleanWithin;
// the drill keeps asking it for cleanPollFor, so that a slower run still
// says how long it took. cleanWithin leaves room for the longest wait a
// drill's fault can cause: after a 60 s consumer outage a waiting event is
// tried again at most 11 s after the heal (see retryGap), and each hop of
// a chain (payment → reservation → item → MyPage) is delivered at once.
const (
	cleanWithin  = 30 * time.Second
	cleanPollFor = 60 * time.Second
	// maxRedrives bounds the re-drives of one heal: a letter that fails
	// again is dead-lettered again, at a later offset.
	maxRedrives = 3
)

// consumers are the functions that only consume events, in the order the
// faults drill takes them down.
var consumers = []string{"reservation-policy", "item-policy", viewFunction}

// Faults keeps deals in flight (a few clients paying, cancelling
// payments, deleting reservations, reviewing and opening new deals) while
// each consumer in turn (reservation-policy, item-policy, mypage) cannot
// start for 60 s, then while Kafka is down for 30 s (2 s and 3 s in the
// short form). During each fault every command must answer 2xx or 409 (a
// step that waits for a policy, such as a review before the payment
// completed the reservation). After each heal the invariant checker
// (GET /_local/check: every rule of SPEC 3, and MyPage against its
// sources) must find nothing within 30 s; the drill reports how long it
// took, the trigger retries, the dead letters it re-drove (POST
// /_local/dead-letters/redrive, only when one appeared), and charts the
// triggers' backlog draining.
func Faults(ctx context.Context, e *Env, opts Options) (*Report, error) {
	return e.drill(ctx, "faults", "deals in flight while each consumer, then Kafka, is down; the checker after each heal", opts, func(r *run) error {
		return r.faults(ctx, pick(opts, 60*time.Second, 2*time.Second), pick(opts, 30*time.Second, 3*time.Second))
	})
}

func (r *run) faults(ctx context.Context, consumerDown, kafkaDown time.Duration) error {
	policy := loadRetryPolicy()
	r.row("delivery", "%s", policy)
	traders, err := r.newTraders(ctx, pick(r.opts, 3, 2))
	if err != nil {
		return err
	}
	before, err := r.quiet(ctx)
	if err != nil {
		return err
	}
	took, rep, err := r.untilClean(ctx, time.Now(), nil)
	if err != nil {
		return err
	}
	r.check("the checker finds nothing before the faults", took >= 0 && took <= cleanWithin, "%s", cleanDetail(took, rep))
	if repairs, found := r.repairs(ctx); !found {
		r.row("repairs", "%s", repairs)
	}

	var faults []fault
	for _, fn := range consumers {
		faults = append(faults, fault{
			name: fn + " down", healed: fn + " back", lasts: consumerDown, nextTry: policy.gap(consumerDown),
			waits: "a waiting event is tried again within " + policy.gap(consumerDown).String() + " of the heal",
			set:   func(ctx context.Context, on bool) error { return r.env.SetOutage(ctx, fn, on) },
			shown: func(st system.Status) (bool, string) {
				f := st.Function(fn)
				return f.Outage && len(f.Instances) == 0, fmt.Sprintf("outage %t, %d instances", f.Outage, len(f.Instances))
			},
		})
	}
	if before.Kafka.External {
		r.row("Kafka down", "skipped: Kafka is external (KAFKA_BOOTSTRAP_SERVERS); stop it by hand")
	} else {
		faults = append(faults, fault{
			// Kafka down stops the triggers, not a subscriber: events wait
			// in the outboxes, which drain within about 2 s of its return.
			name: "Kafka down", healed: "Kafka up", lasts: kafkaDown, nextTry: 2 * time.Second,
			waits: "the outboxes drain within about 2 s of Kafka's return",
			set:   func(ctx context.Context, on bool) error { return r.env.SetKafka(ctx, !on) },
			shown: func(st system.Status) (bool, string) {
				return !st.Kafka.Up, fmt.Sprintf("kafka %+v", st.Kafka)
			},
		})
	}
	for _, f := range faults {
		if before, err = r.fault(ctx, f, traders, before); err != nil {
			return err
		}
	}
	r.row("outbox pending", "n/a: /_local/status does not count the outboxes; while Kafka is down the backlog is there, not on the topic")
	return nil
}

// fault is one fault of the drill: set turns it on or off, shown says
// whether a status shows it on (and what it shows), nextTry bounds how
// long after the heal a waiting event is tried again, which waits says.
type fault struct {
	name, healed string
	lasts        time.Duration
	nextTry      time.Duration
	waits        string
	set          func(ctx context.Context, on bool) error
	shown        func(system.Status) (bool, string)
}

// fault runs the traders for the fault's duration while it is on, heals
// it and waits until the checker finds nothing and the triggers are at
// rest. It reports against before (a quiet status) and returns the quiet
// status after.
func (r *run) fault(ctx context.Context, f fault, traders []*trader, before system.Status) (system.Status, error) {
	began := time.Now()
	if err := f.set(ctx, true); err != nil {
		return before, err
	}
	r.mark(f.name)
	healed := false
	defer func() {
		if !healed {
			_ = f.set(context.WithoutCancel(ctx), false)
		}
	}()
	st, on := r.waitStatus(ctx, 10*time.Second, func(st system.Status) bool { on, _ := f.shown(st); return on })
	_, shows := f.shown(st)
	r.check(f.name+": the status shows it", on, "%s", shows)

	t := r.trade(ctx, traders, f.lasts)
	r.row(f.name+": commands", "%s", t)
	r.check(f.name+": every command answered 2xx or 409 (waiting for a policy), some 2xx", len(t.failed) == 0 && t.ok() > 0,
		"%d sent, %d 2xx; failed: %v", t.sent, t.ok(), first(t.failed, 5))

	if err := f.set(ctx, false); err != nil {
		return before, err
	}
	healed = true
	r.mark(f.healed)
	at := time.Now()
	letters := deadLetters{seen: deadLettered(before)}
	took, rep, err := r.untilClean(ctx, at, &letters)
	if err != nil {
		return before, err
	}
	if took >= 0 {
		r.mark("clean")
	}
	r.row(f.name+": checker", "%s; %s", cleanDetail(took, rep), f.waits)
	r.check(f.name+": the checker finds nothing within "+cleanWithin.String()+" of the heal", took >= 0 && took <= cleanWithin, "%s", cleanDetail(took, rep))
	r.timing(f.name+": clean within the next try + 10 s", took >= 0 && took <= f.nextTry+10*time.Second, "%s after the heal, next try within %s", ms(took), f.nextTry)

	after, err := r.quiet(ctx)
	if err != nil {
		return before, err
	}
	if deadLettered(after) > letters.seen && len(letters.redrives) < maxRedrives {
		// Dead-lettered once the checker was satisfied: re-drive them
		// too, and the end of the next fault (or of the drill) shows
		// their effect.
		letters.seen = deadLettered(after)
		r.redrive(ctx, &letters)
		if after, err = r.quiet(ctx); err != nil {
			return before, err
		}
	}
	r.row(f.name+": backlog", "%s", r.backlog(began, at))
	r.row(f.name+": retries", "%s", retriesSince(before, after))
	r.row(f.name+": dead letters", "%s", letters.describe(before, after))
	if repairs, found := r.repairs(ctx); found {
		r.row(f.name+": repairs", "%s", repairs)
	}
	dropped := dropped(after) - dropped(before)
	given := deadLettered(after) - deadLettered(before)
	r.check(f.name+": no event given up (none dropped; every dead letter re-driven)", dropped == 0 && given <= letters.redriven(),
		"dropped +%d, dead-lettered +%d, re-driven %d", dropped, given, letters.redriven())
	return after, nil
}

// untilClean asks the checker until it finds nothing, for cleanPollFor
// from since, and returns how long after since it found nothing (-1 when
// it never did) with its last report. With letters set, it re-drives the
// dead letters that appear meanwhile (up to maxRedrives times).
func (r *run) untilClean(ctx context.Context, since time.Time, letters *deadLetters) (time.Duration, app.Report, error) {
	var last app.Report
	for {
		if letters != nil && len(letters.redrives) < maxRedrives {
			if st, err := r.status(ctx); err == nil && deadLettered(st) > letters.seen {
				letters.seen = deadLettered(st)
				r.redrive(ctx, letters)
			}
		}
		rep, err := r.env.Check(ctx)
		if err != nil {
			return -1, last, err
		}
		last = rep
		if rep.OK() {
			return time.Since(since), rep, nil
		}
		if time.Since(since) > cleanPollFor {
			return -1, rep, nil
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return -1, rep, err
		}
	}
}

// backlog describes the triggers' lag from the samples taken since began:
// each trigger's peak, and when every lag was 0 for good after healed.
func (r *run) backlog(began, healed time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	peak := map[string]int64{}
	drained := time.Duration(-1)
	for _, s := range r.samples {
		if s.at.Before(began) {
			continue
		}
		zero := len(s.lags) > 0
		for name, lag := range s.lags {
			peak[name] = max(peak[name], lag)
			zero = zero && lag == 0
		}
		switch {
		case !zero && len(s.lags) > 0:
			drained = -1 // a backlog again, such as the outboxes' after Kafka's return
		case zero && drained < 0 && !s.at.Before(healed):
			drained = s.at.Sub(healed)
		}
	}
	names := make([]string, 0, len(peak))
	for name := range peak {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %d", name, peak[name]))
	}
	done := "not drained yet"
	if drained >= 0 {
		done = "every lag 0 again " + ms(drained) + " after the heal"
	}
	return "peak lag " + strings.Join(parts, ", ") + "; " + done
}

// cleanDetail says when the checker found nothing, or what it found last.
func cleanDetail(took time.Duration, rep app.Report) string {
	read := fmt.Sprintf("%d items, %d reservations, %d payments, %d reviews, %d MyPage rows", rep.Items, rep.Reservations, rep.Payments, rep.Reviews, rep.Rows)
	if took >= 0 {
		return fmt.Sprintf("clean %s after (%s)", ms(took), read)
	}
	found := make([]string, 0, len(rep.Findings))
	for _, f := range rep.Findings {
		found = append(found, f.String())
	}
	return fmt.Sprintf("still %d findings after %s (%s): %s", len(found), cleanPollFor, read, strings.Join(first(found, 5), "; "))
}

// deadLetters is what one heal re-drove: seen is the runtime's count of
// dead letters that has been re-driven up to.
type deadLetters struct {
	seen     int64
	redrives []broker.RedriveResult
	failures []string
}

// redrive re-drives every dead letter not re-driven before.
func (r *run) redrive(ctx context.Context, letters *deadLetters) {
	res, err := r.env.Redrive(ctx)
	r.mark("re-drive")
	if err != nil {
		letters.failures = append(letters.failures, err.Error())
		return
	}
	letters.redrives = append(letters.redrives, res)
}

func (l *deadLetters) redriven() int64 {
	var n int64
	for _, res := range l.redrives {
		n += int64(res.Redriven)
	}
	return n
}

func (l *deadLetters) describe(before, after system.Status) string {
	given := deadLettered(after) - deadLettered(before)
	status := fmt.Sprintf("/_local/status deadLetters: redriven +%d in %d re-drives",
		after.DeadLetters.Redriven-before.DeadLetters.Redriven, after.DeadLetters.Redrives-before.DeadLetters.Redrives)
	if given == 0 && len(l.redrives) == 0 {
		return "none, so no re-drive; " + status
	}
	return fmt.Sprintf("+%d; POST /_local/dead-letters/redrive ×%d re-drove %d %v (refused %d); errors %v; %s",
		given, len(l.redrives), l.redriven(), l.byDestination(), l.refused(), l.failures, status)
}

func (l *deadLetters) byDestination() map[string]int {
	out := map[string]int{}
	for _, res := range l.redrives {
		for dest, n := range res.ByDestination {
			out[dest] += n
		}
	}
	return out
}

func (l *deadLetters) refused() int {
	n := 0
	for _, res := range l.redrives {
		n += res.Refused + res.Unreadable
	}
	return n
}

// deadLettered and dropped sum a count over the triggers.
func deadLettered(st system.Status) int64 {
	var n int64
	for _, tr := range st.Triggers {
		n += tr.DeadLettered
	}
	return n
}

func dropped(st system.Status) int64 {
	var n int64
	for _, tr := range st.Triggers {
		n += tr.Dropped
	}
	return n
}

// retriesSince lists each trigger's retries between two statuses:
// "item-policy +0, mypage +31, reservation-policy +12".
func retriesSince(before, after system.Status) string {
	parts := make([]string, 0, len(after.Triggers))
	for _, tr := range after.Triggers {
		parts = append(parts, fmt.Sprintf("%s +%d", tr.Name, tr.Retried-before.Trigger(tr.Name).Retried))
	}
	return strings.Join(parts, ", ")
}
