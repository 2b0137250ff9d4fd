package drill

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/tests/system"
)

// SelfHealing keeps GET /items under load from 4 clients (2 in the short
// form) and makes one register-item instance unhealthy through the
// dev-only endpoint, as the seed's callMemleak did. The runtime's liveness
// probe (every 5 s, 3 failures) must replace it: its process gone, the
// replaced count one up, and no request failed meanwhile.
func SelfHealing(ctx context.Context, e *Env, opts Options) (*Report, error) {
	concurrency := pick(opts, 4, 2)
	title := fmt.Sprintf("an unhealthy %s instance is replaced under -c %d", itemsFunction, concurrency)
	return e.drill(ctx, "selfheal", title, opts, func(r *run) error {
		return r.selfHeal(ctx, concurrency)
	})
}

// healBound bounds the wait for the replacement: three liveness failures
// 5 s apart, and a new instance.
const healBound = time.Minute

func (r *run) selfHeal(ctx context.Context, concurrency int) error {
	if res := r.do(ctx, "", http.MethodGet, "/items?limit=1", nil); !res.OK() {
		return fmt.Errorf("warm-up: %s", res)
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	type loaded struct {
		n, failed int
		codes     string
	}
	done := make(chan loaded, 1)
	go func() {
		results, _ := r.load(loadCtx, Load{Name: "items", Concurrency: concurrency, Duration: healBound + 10*time.Second, Next: func(uint64) Request {
			return Request{Method: http.MethodGet, Path: "/items?limit=10"}
		}})
		done <- loaded{len(results), len(results) - countOK(results), countCodes(results)}
	}()
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	before, err := r.status(ctx)
	if err != nil {
		return err
	}
	pid, err := r.env.MakeUnhealthy(ctx, itemsFunction)
	if err != nil {
		return err
	}
	r.mark(fmt.Sprintf("pid %d unhealthy", pid))
	began := time.Now()
	replacedBefore := before.Function(itemsFunction).Replaced
	st, healed := r.waitStatus(ctx, healBound, func(st system.Status) bool {
		f := st.Function(itemsFunction)
		return !hasPID(f, pid) && f.Replaced > replacedBefore
	})
	took := time.Since(began)
	r.mark("replaced")
	// The load goes on a little, served by the new instance.
	_ = sleep(ctx, 2*time.Second)
	stopLoad()
	l := <-done
	f := st.Function(itemsFunction)
	r.check("the unhealthy instance was replaced", healed && f.Replaced == replacedBefore+1,
		"pid %d gone: %t; replaced %d → %d; last failure: %s", pid, !hasPID(f, pid), replacedBefore, f.Replaced, f.LastFailure)
	r.row("replacement", "pid %d replaced after %s; instances now %v", pid, took.Round(100*time.Millisecond), pids(f.Instances))
	r.timing("replaced within 30 s", healed && took < 30*time.Second, "%s", took.Round(100*time.Millisecond))
	r.check("no failed request while healing", l.failed == 0 && l.n > 0, "%d of %d answers were not 2xx (%s)", l.failed, l.n, l.codes)
	return nil
}

// hasPID reports whether an instance of f runs as pid.
func hasPID(f serving.FunctionStatus, pid int) bool {
	for _, inst := range f.Instances {
		if inst.PID == pid {
			return true
		}
	}
	return false
}

// pids lists the pids of instances, for a report.
func pids(instances []serving.InstanceStatus) []int {
	out := make([]int, 0, len(instances))
	for _, inst := range instances {
		out = append(out, inst.PID)
	}
	return out
}
