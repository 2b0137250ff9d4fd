package drill

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Rollout keeps GET and POST /items under load from 5 clients for 20 s (3
// for 8 s in the short form), the seed's zero-downtime deploy, and rolls
// out a new revision of register-item a quarter of the way in. No request
// may fail, and at the end every instance runs the new revision.
func Rollout(ctx context.Context, e *Env, opts Options) (*Report, error) {
	concurrency, duration := pick(opts, 5, 3), pick(opts, 20*time.Second, 8*time.Second)
	title := fmt.Sprintf("new revision of %s under -c %d for %s", itemsFunction, concurrency, duration)
	return e.drill(ctx, "rollout", title, opts, func(r *run) error {
		return r.rollout(ctx, concurrency, duration)
	})
}

func (r *run) rollout(ctx context.Context, concurrency int, duration time.Duration) error {
	const seller = "rollout-seller"
	if _, err := r.registerItem(ctx, seller, "before the rollout", 1000); err != nil {
		return err
	}
	type outcome struct {
		rollout RolloutResult
		took    time.Duration
		err     error
	}
	rolled := make(chan outcome, 1)
	go func() {
		if sleep(ctx, duration/4) != nil {
			rolled <- outcome{err: ctx.Err()}
			return
		}
		r.mark("rollout")
		began := time.Now()
		out, err := r.env.Rollout(ctx, itemsFunction, map[string]string{"CARROT_DRILL_ROLLOUT": began.Format(time.RFC3339Nano)})
		if err == nil {
			r.mark("traffic on " + out.Revision)
		}
		rolled <- outcome{out, time.Since(began), err}
	}()
	results, err := r.load(ctx, Load{Name: "items", Concurrency: concurrency, Duration: duration, Next: func(n uint64) Request {
		if n%4 == 3 {
			return Request{User: seller, Method: http.MethodPost, Path: "/items", Body: map[string]any{"name": fmt.Sprintf("rollout %d", n), "category": "drill", "price": 1000}}
		}
		return Request{Method: http.MethodGet, Path: "/items?limit=10"}
	}})
	o := <-rolled
	if err != nil {
		return err
	}
	if !r.check("the rollout completed", o.err == nil && o.rollout.Revision != "" && o.rollout.Revision != o.rollout.Previous,
		"%s → %s in %s; error: %v", o.rollout.Previous, o.rollout.Revision, o.took.Round(10*time.Millisecond), o.err) {
		return nil
	}
	r.row("rollout", "%s: %s → %s, traffic moved in %s", itemsFunction, o.rollout.Previous, o.rollout.Revision, o.took.Round(10*time.Millisecond))
	failed := len(results) - countOK(results)
	r.check("no failed request during the rollout", failed == 0, "%d of %d answers were not 2xx (%s)", failed, len(results), countCodes(results))
	st, err := r.status(ctx)
	if err != nil {
		return err
	}
	f := st.Function(itemsFunction)
	var old []string
	for _, inst := range f.Instances {
		if rev := instanceRevision(inst); rev != o.rollout.Revision {
			old = append(old, fmt.Sprintf("pid %d on %q", inst.PID, rev))
		}
	}
	r.check("every instance runs the new revision", functionRevision(f) == o.rollout.Revision && len(old) == 0,
		"function on %q, %d instances; on another revision: %v", functionRevision(f), len(f.Instances), old)
	return nil
}
