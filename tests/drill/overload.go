package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/carrot-market/carrot/infra/serving"
)

// chatFunction serves POST /reservations, the seed's siege target.
const chatFunction = "request-chat"

// Overload is the seed's `siege -c90 -t7S` on chat requests: 90 buyers
// at once keep asking to chat (POST /reservations) about a few items for
// 7 s (30 for 3 s in the short form; Options.Concurrency, the command's
// -c, sets another number of buyers). Every answer must be a success or a
// 503 with Retry-After, never another error; afterwards every buyer holds
// exactly one reservation per item it got a success for, the same one it
// was answered, and none for the items it only got 503s for; MyPage counts
// them all. The latency of admitted requests and of 503s is reported
// against a bound.
//
// Whether 503s come at all depends on the function's capacity, which the
// report states (see ChatCapacity): request-chat's 5 instances hold 550
// requests, so the seed's 90 buyers are all queued and served, as
// Knative's queue-proxy would do; the drill then checks that none was
// refused. With more buyers than the capacity (-c 700, or a runtime
// capped by CARROT_MAX_SCALE) it checks that the excess was refused with
// 503, and that every 503 was the runtime's full queue.
func Overload(ctx context.Context, e *Env, opts Options) (*Report, error) {
	concurrency := clients(opts, 90, 30)
	duration := pick(opts, 7*time.Second, 3*time.Second)
	title := fmt.Sprintf("siege -c%d -t%s on POST /reservations", concurrency, duration)
	return e.drill(ctx, "overload", title, opts, func(r *run) error {
		return r.overload(ctx, concurrency, duration)
	})
}

func (r *run) overload(ctx context.Context, concurrency int, duration time.Duration) error {
	opts, e := r.opts, r.env
	const seller = "siege-seller"
	items := make([]string, pick(opts, 3, 2))
	for i := range items {
		var err error
		if items[i], err = r.registerItem(ctx, seller, fmt.Sprintf("siege item %d", i), 1000); err != nil {
			return err
		}
	}
	buyers := make([]string, concurrency)
	for i := range buyers {
		buyers[i] = fmt.Sprintf("siege-buyer-%03d", i)
		if _, err := e.Token(ctx, buyers[i]); err != nil {
			return err
		}
	}
	before, _ := r.status(ctx)
	// Request n is buyer n mod B about item (n / B) mod I: a pair comes
	// back only after every other pair, so it is asked several times,
	// mostly not at once.
	r.mark("siege")
	results, err := r.load(ctx, Load{Name: "siege", Concurrency: concurrency, Duration: duration, Next: func(n uint64) Request {
		b, i := n%uint64(len(buyers)), (n/uint64(len(buyers)))%uint64(len(items))
		return Request{User: buyers[b], Method: http.MethodPost, Path: "/reservations", Body: map[string]any{"itemId": items[i]}}
	}})
	if err != nil {
		return err
	}
	r.mark("siege over")
	capacity, known := ChatCapacity(e)
	if known {
		r.row("capacity", "%s", capacity)
		r.row("load", "%d buyers: %s", concurrency, capacity.verdict(concurrency))
	} else {
		r.row("capacity", "unknown: the manifest of %s was not read, or it has containerConcurrency 0 (no queue limit)", chatFunction)
	}
	rejected := int64(-1)
	if after, err := r.status(ctx); err == nil {
		rejected = after.Function(chatFunction).Rejected - before.Function(chatFunction).Rejected
		r.row("rejected by the runtime", "%d (queue full)", rejected)
	}
	refused := r.checkAnswers(results)
	if known {
		r.checkShedding(concurrency, capacity, refused, rejected)
	}
	held := r.checkOneReservationPerPair(results)
	r.row("buyer-item pairs", "%d, %d got a reservation during the siege", len(buyers)*len(items), len(held))
	r.checkAskingAgain(ctx, buyers, items, held, len(results))
	r.checkOpenChats(ctx, seller, items, len(buyers))
	return nil
}

// checkAnswers checks that every answer is a 2xx or a 503 with
// Retry-After, reports the latency of each kind, and returns the number
// of 503s.
func (r *run) checkAnswers(results []vegeta.Result) int {
	var admitted, rejected []time.Duration
	other, noRetryAfter := map[string]int{}, 0
	for _, res := range results {
		switch {
		case ok2xx(res):
			admitted = append(admitted, res.Latency)
		case res.Code == http.StatusServiceUnavailable:
			rejected = append(rejected, res.Latency)
			if res.Headers.Get("Retry-After") == "" {
				noRetryAfter++
			}
		default:
			other[fmt.Sprint(res.Code)]++
		}
	}
	r.check("only 2xx or 503 with Retry-After", len(other) == 0 && noRetryAfter == 0,
		"%d answers: %d 2xx, %d 503 (%d without Retry-After), others: %s", len(results), len(admitted), len(rejected), noRetryAfter, histogram(other))
	p99 := time.Duration(quantileMs(admitted, 0.99) * float64(time.Millisecond))
	r.timing("admitted p99 under 2 s", p99 < 2*time.Second, "p99 of %d admitted requests: %s", len(admitted), ms(p99))
	if len(rejected) > 0 {
		p99 := time.Duration(quantileMs(rejected, 0.99) * float64(time.Millisecond))
		r.timing("503 answered fast (p99 under 500 ms)", p99 < 500*time.Millisecond, "p99 of %d rejections: %s", len(rejected), ms(p99))
	}
	return len(rejected)
}

// checkShedding checks the 503s against the capacity: none while the
// buyers fit in the queue of the first instance, some once they exceed
// what max-scale instances hold, and, on the local runtime, exactly one
// queue-full rejection per 503 (rejected < 0: the status was not read).
// Between the two bounds 503s depend on how fast instances start, and
// nothing is checked.
func (r *run) checkShedding(concurrency int, c Capacity, refused int, rejected int64) {
	switch {
	case concurrency <= c.Floor:
		r.check("no 503 under capacity", refused == 0,
			"%d buyers fit in the queue of a single instance (%d): %d answers were 503", concurrency, c.Floor, refused)
	case concurrency > c.Total():
		r.check("the excess above capacity was refused with 503", refused > 0,
			"%d buyers, capacity %d: %d answers were 503", concurrency, c.Total(), refused)
	}
	if rejected >= 0 {
		r.check("every 503 was the runtime's full queue", rejected == int64(refused),
			"%d answers 503, %d rejected by the runtime as queue full", refused, rejected)
	}
}

// Capacity is how many requests of one function the local runtime holds
// at once, as Knative's activator and queue-proxy do: containerConcurrency
// in flight on each instance, and a queue of 10 requests per unit of
// containerConcurrency per live instance (serving's
// QueueDepthPerConcurrency). A request beyond both is answered 503 at
// once.
type Capacity struct {
	Function             string
	MaxScale             int // the manifest's max-scale within the runtime's cap
	ManifestMaxScale     int // the manifest's max-scale, 0 for unlimited
	ContainerConcurrency int
	InFlight             int // at max-scale
	Queue                int // at max-scale
	// Floor is the queue of one instance: what the function holds while
	// its first instance starts, and before the autoscaler adds more.
	Floor int
}

// Total is what the function holds at max-scale: in flight plus queued.
func (c Capacity) Total() int { return c.InFlight + c.Queue }

// String states the capacity and where it comes from.
func (c Capacity) String() string {
	scale := fmt.Sprintf("max-scale %d", c.MaxScale)
	if c.MaxScale != c.ManifestMaxScale {
		scale = fmt.Sprintf("max-scale %d capped to %d by the runtime", c.ManifestMaxScale, c.MaxScale)
	}
	return fmt.Sprintf("%d requests = %d × (containerConcurrency %d in flight + %d queued) at %s; %d while the first instance starts",
		c.Total(), c.MaxScale, c.ContainerConcurrency, serving.QueueDepthPerConcurrency*c.ContainerConcurrency, scale, c.Floor)
}

// verdict says what concurrency clients should meet.
func (c Capacity) verdict(concurrency int) string {
	switch {
	case concurrency <= c.Floor:
		return "within capacity even before scaling out: no 503 expected"
	case concurrency <= c.Total():
		return "within capacity once scaled out: a few 503s possible while instances start"
	default:
		return fmt.Sprintf("%d above capacity: 503s expected", concurrency-c.Total())
	}
}

// ChatCapacity is the capacity of the overload drill's function, from its
// manifest and the runtime's cap on instances (Config.MaxScaleLimit). It
// is unknown when the manifests were not read, or when the function has
// no containerConcurrency, hence no queue limit.
func ChatCapacity(e *Env) (Capacity, bool) {
	spec, ok := e.Specs[chatFunction]
	if !ok || spec.ContainerConcurrency <= 0 {
		return Capacity{}, false
	}
	n, cc := e.maxScale(spec), spec.ContainerConcurrency
	queue := serving.QueueDepthPerConcurrency * cc
	return Capacity{
		Function: chatFunction, MaxScale: n, ManifestMaxScale: spec.MaxScale, ContainerConcurrency: cc,
		InFlight: n * cc, Queue: n * queue, Floor: queue,
	}, true
}

// pair is one buyer asking about one item.
type pair struct{ buyer, item string }

// checkOneReservationPerPair checks that the successes for each pair name
// one reservation, created once (one 201, the others 200), and returns it
// per pair.
func (r *run) checkOneReservationPerPair(results []vegeta.Result) map[pair]string {
	ids, created := map[pair]map[string]bool{}, map[pair]int{}
	undecodable := 0
	for _, res := range results {
		if !ok2xx(res) {
			continue
		}
		var rsv struct{ RsvID, ItemID, BuyerID string }
		if json.Unmarshal(res.Body, &rsv) != nil || rsv.RsvID == "" {
			undecodable++
			continue
		}
		p := pair{rsv.BuyerID, rsv.ItemID}
		if ids[p] == nil {
			ids[p] = map[string]bool{}
		}
		ids[p][rsv.RsvID] = true
		if res.Code == http.StatusCreated {
			created[p]++
		}
	}
	held := map[pair]string{}
	var bad []string
	for p, set := range ids {
		for id := range set {
			held[p] = id
		}
		if len(set) != 1 || created[p] != 1 {
			bad = append(bad, fmt.Sprintf("%s/%s: %d ids, %d created", p.buyer, p.item, len(set), created[p]))
		}
	}
	r.check("one reservation per buyer and item", len(bad) == 0 && undecodable == 0,
		"%d pairs answered 2xx, each with one rsvId created once; %d bodies unreadable; wrong: %v", len(ids), undecodable, first(bad, 5))
	return held
}

// checkAskingAgain asks every pair once more, after the siege: a pair that
// got a reservation must get the same one back (200), and a pair that got
// only 503s must get a new one (201), which proves no 503 left one behind.
// The siege asks the pairs in turn, so the first sent of its requests
// reached distinct pairs: the others were not asked at all.
func (r *run) checkAskingAgain(ctx context.Context, buyers, items []string, held map[pair]string, sent int) {
	var mu sync.Mutex
	var wrong []string
	same, fresh := 0, 0
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, item := range items {
		for _, buyer := range buyers {
			p := pair{buyer, item}
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				res := r.env.Do(ctx, buyer, http.MethodPost, "/reservations", map[string]any{"itemId": item})
				var rsv struct{ RsvID string }
				_ = res.Decode(&rsv)
				mu.Lock()
				defer mu.Unlock()
				want, had := held[p]
				switch {
				case had && res.Status == http.StatusOK && rsv.RsvID == want:
					same++
				case !had && res.Status == http.StatusCreated:
					fresh++
				default:
					wrong = append(wrong, fmt.Sprintf("%s/%s (held %q): %s", buyer, item, want, res))
				}
			})
		}
	}
	wg.Wait()
	asked := min(sent, len(buyers)*len(items))
	r.check("no reservation lost, none left by a 503", len(wrong) == 0,
		"asked again: %d got their reservation back; %d without one got a new one (201: none had been created), of which %d got only 503s in the siege and %d were not asked; wrong: %v",
		same, fresh, asked-len(held), len(buyers)*len(items)-asked, first(wrong, 3))
}

// checkOpenChats waits until MyPage counts every buyer's chat on every
// item: the events of every reservation reached the view, once.
func (r *run) checkOpenChats(ctx context.Context, seller string, items []string, buyers int) {
	var wrong []string
	for _, item := range items {
		row, err := r.eventuallyPage(ctx, seller, item, func(p page) bool { return p.OpenChats == buyers })
		if err != nil {
			wrong = append(wrong, fmt.Sprintf("%s: %d open chats", item, row.OpenChats))
		}
	}
	r.check("MyPage counts every reservation once", len(wrong) == 0, "%d items, %d open chats expected each; wrong: %v", len(items), buyers, wrong)
}

// first returns at most n of list, for a check's detail.
func first(list []string, n int) []string {
	if len(list) > n {
		return append(list[:n:n], fmt.Sprintf("and %d more", len(list)-n))
	}
	return list
}
