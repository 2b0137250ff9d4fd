package drill

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/carrot-market/carrot/tests/system"
)

// A trader is one client of the faults drill: a seller and a buyer with a
// few deals in flight, each at its own step of a plan. A trader is used by
// one goroutine at a time.
type trader struct {
	id            int
	seller, buyer string
	deals         []*dealInFlight
	turn          int // counts the trader's turns: which deal goes next
	opened        int // counts the deals opened: which plan comes next
}

// dealInFlight is a deal and the commands still to send for it, the next
// one first. A deal with none left is done. A step answered 409 waits for
// a policy: the trader tries it again after conflictWait, as a person
// would, and meanwhile gets on with its other deals.
type dealInFlight struct {
	deal
	steps     []string
	notBefore time.Time
}

// plans are the deals the traders make: each is set up to upTo (dealUpTo)
// and then goes through its steps. Together they hit every command
// function, and every consumer has a part: a payment's approval completes
// the reservation (reservation-policy), which sells the item out
// (item-policy); a cancel reopens it and reserves the item again; a
// deleted reservation releases the item; a review scores it; mypage
// follows all of it.
var plans = []struct {
	upTo  string
	steps []string
}{
	{"confirm", []string{"pay", "review"}},
	{"pay", []string{"cancel", "pay", "review"}},
	{"chat", []string{"delete"}},
	{"pay", []string{"cancel", "delete"}},
}

// A trader opens one more deal when every deal it has waits, up to
// maxDealsInFlight, so that new deals keep coming while the others wait
// for a policy that is down.
const (
	conflictWait     = time.Second
	maxDealsInFlight = 12
	tradePause       = 250 * time.Millisecond
)

// newTraders makes n traders, each with one deal per plan, set up to the
// plan's stage: deals at different stages before any fault.
func (r *run) newTraders(ctx context.Context, n int) ([]*trader, error) {
	traders := make([]*trader, n)
	for i := range traders {
		t := &trader{id: i, seller: fmt.Sprintf("faults-seller-%d", i), buyer: fmt.Sprintf("faults-buyer-%d", i)}
		for range plans {
			d, err := t.open(ctx, r)
			if err != nil {
				return nil, err
			}
			t.deals = append(t.deals, d)
		}
		traders[i] = t
	}
	return traders, nil
}

// open sets up the trader's next deal to its plan's stage.
func (t *trader) open(ctx context.Context, r *run) (*dealInFlight, error) {
	p := plans[t.opened%len(plans)]
	t.opened++
	d, err := r.dealUpTo(ctx, t.seller, t.buyer, fmt.Sprintf("faults %d deal %d", t.id, t.opened), p.upTo)
	if err != nil {
		return nil, err
	}
	return &dealInFlight{deal: d, steps: append([]string(nil), p.steps...)}, nil
}

// trade runs every trader for d, each sending a command, pausing
// tradePause, and so on, and returns what the commands answered.
func (r *run) trade(ctx context.Context, traders []*trader, d time.Duration) traffic {
	end := time.Now().Add(d)
	tallies := make([]traffic, len(traders))
	var wg sync.WaitGroup
	for i, t := range traders {
		wg.Go(func() {
			for time.Now().Before(end) {
				t.next(ctx, r, &tallies[i])
				if sleep(ctx, tradePause) != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	var all traffic
	for _, t := range tallies {
		all.merge(t)
	}
	return all
}

// next sends the trader's next command: the next step of the next deal
// that does not wait, or a new deal in place of a done one, or, when every
// deal waits, a new deal beside them.
func (t *trader) next(ctx context.Context, r *run, tally *traffic) {
	now := time.Now()
	for range t.deals {
		t.turn++
		i := t.turn % len(t.deals)
		d := t.deals[i]
		if now.Before(d.notBefore) {
			continue
		}
		if len(d.steps) == 0 {
			if fresh, ok := t.openCounted(ctx, r, tally); ok {
				t.deals[i] = fresh
			}
			return
		}
		t.step(ctx, r, d, tally)
		return
	}
	if len(t.deals) < maxDealsInFlight {
		if d, ok := t.openCounted(ctx, r, tally); ok {
			t.deals = append(t.deals, d)
		}
	}
}

// step sends the next step of d; a 2xx moves d on, a 409 makes it wait.
func (t *trader) step(ctx context.Context, r *run, d *dealInFlight, tally *traffic) {
	function, res := t.send(ctx, r, d, d.steps[0])
	if !tally.add(function, d.steps[0], res) {
		d.notBefore = time.Now().Add(conflictWait)
		return
	}
	if d.steps[0] == "pay" {
		var out struct{ PayID string }
		_ = res.Decode(&out)
		d.pay = out.PayID
	}
	d.steps = d.steps[1:]
}

// openCounted opens the trader's next deal and counts it.
func (t *trader) openCounted(ctx context.Context, r *run, tally *traffic) (*dealInFlight, bool) {
	d, err := t.open(ctx, r)
	tally.opened(err)
	return d, err == nil
}

// send sends step of deal d and returns the function that serves it with
// its answer.
func (t *trader) send(ctx context.Context, r *run, d *dealInFlight, step string) (string, system.Response) {
	switch step {
	case "pay":
		return "pay", r.do(ctx, t.buyer, http.MethodPost, "/payments", map[string]any{"rsvId": d.rsv})
	case "cancel":
		return "cancel-payment", r.do(ctx, t.buyer, http.MethodPatch, "/payments/"+d.pay, map[string]any{"status": "DELETED"})
	case "review":
		return "write-review", r.do(ctx, t.buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": d.rsv, "score": 4, "comment": "fine, after a while"})
	case "delete":
		return "confirm-reservation", r.do(ctx, t.buyer, http.MethodDelete, "/reservations/"+d.rsv, nil)
	}
	panic("drill: no step " + step)
}

// traffic is what the traders' commands answered during one fault.
type traffic struct {
	sent      int
	conflicts int            // 409: the step waits for a policy
	okBy      map[string]int // 2xx by function
	opens     int            // deals opened (register-item, request-chat, confirm-reservation and maybe pay)
	failed    []string
}

// add counts one answer and reports whether it was a 2xx.
func (t *traffic) add(function, step string, res system.Response) bool {
	t.sent++
	switch {
	case res.OK():
		if t.okBy == nil {
			t.okBy = map[string]int{}
		}
		t.okBy[function]++
		return true
	case res.Status == http.StatusConflict:
		t.conflicts++
	default:
		t.failed = append(t.failed, step+": "+res.String())
	}
	return false
}

// opened counts the opening of a deal, which its helpers check.
func (t *traffic) opened(err error) {
	t.sent++
	if err != nil {
		t.failed = append(t.failed, "open a deal: "+err.Error())
		return
	}
	t.opens++
}

func (t *traffic) ok() int {
	n := t.opens
	for _, c := range t.okBy {
		n += c
	}
	return n
}

func (t *traffic) merge(o traffic) {
	t.sent += o.sent
	t.conflicts += o.conflicts
	t.opens += o.opens
	t.failed = append(t.failed, o.failed...)
	for f, n := range o.okBy {
		if t.okBy == nil {
			t.okBy = map[string]int{}
		}
		t.okBy[f] += n
	}
}

// String is "41 commands: 33 2xx (deals opened 6, pay 9, ...), 8 409 (waiting for a policy), 0 failed".
func (t traffic) String() string {
	names := make([]string, 0, len(t.okBy))
	for f := range t.okBy {
		names = append(names, f)
	}
	sort.Strings(names)
	parts := []string{fmt.Sprintf("deals opened %d", t.opens)}
	for _, f := range names {
		parts = append(parts, fmt.Sprintf("%s %d", f, t.okBy[f]))
	}
	return fmt.Sprintf("%d commands: %d 2xx (%s), %d 409 (waiting for a policy), %d failed",
		t.sent, t.ok(), strings.Join(parts, ", "), t.conflicts, len(t.failed))
}
