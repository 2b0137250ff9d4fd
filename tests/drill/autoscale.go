package drill

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/tests/system"
)

// itemsFunction serves GET /items, the autoscale, rollout and self-healing
// drills' target (the seed's item service).
const itemsFunction = "register-item"

// Autoscale holds 50 clients on GET /items for 30 s (14 for 6 s in the
// short form), like Knative's autoscale-go drill at `-c 50`: the function's
// instances must rise towards concurrency / target (at least half of it,
// never above max-scale) while every request succeeds, and return to zero
// once the load is over and the idle grace has passed.
func Autoscale(ctx context.Context, e *Env, opts Options) (*Report, error) {
	concurrency := clients(opts, 50, 14)
	duration := pick(opts, 30*time.Second, 6*time.Second)
	title := fmt.Sprintf("-c %d for %s on GET /items (%s)", concurrency, duration, itemsFunction)
	return e.drill(ctx, "autoscale", title, opts, func(r *run) error {
		return r.autoscale(ctx, concurrency, duration)
	})
}

func (r *run) autoscale(ctx context.Context, concurrency int, duration time.Duration) error {
	want, maxScale, known := r.expectedInstances(itemsFunction, concurrency)
	if known {
		r.row("expected instances", "%d = min(ceil(%d clients / target %.1f), max-scale %d)", want, concurrency, r.env.Specs[itemsFunction].Target, maxScale)
	}
	peak := 0
	watchCtx, stopWatching := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		// The peak is read at every look, not only at the timeline's
		// samples, so that a short peak is not missed.
		r.waitStatus(watchCtx, duration+time.Minute, func(st system.Status) bool {
			peak = max(peak, len(st.Function(itemsFunction).Instances))
			return false
		})
	}()
	results, err := r.load(ctx, Load{Name: "hold", Concurrency: concurrency, Duration: duration, Next: func(uint64) Request {
		return Request{Method: http.MethodGet, Path: "/items?limit=20"}
	}})
	stopWatching()
	<-watched
	if err != nil {
		return err
	}
	r.mark("load over")
	failed := len(results) - countOK(results)
	r.check("every request succeeded while scaling", failed == 0, "%d of %d answers were not 2xx (%s)", failed, len(results), countCodes(results))
	if !r.env.Local {
		r.row("instances", "n/a: watch kubectl get pods -l serving.knative.dev/service=%s -w", itemsFunction)
		return nil
	}
	if known {
		r.check("scaled out towards concurrency / target", peak >= (want+1)/2 && peak <= maxScale,
			"peak %d instances, want %d (at least %d, at most max-scale %d)", peak, want, (want+1)/2, maxScale)
	} else {
		r.check("scaled out", peak >= 1, "peak %d instances (manifests not found: target unknown)", peak)
	}
	began := time.Now()
	_, zero := r.waitStatus(ctx, r.opts.ScaleDownWait, func(st system.Status) bool {
		return len(st.Function(itemsFunction).Instances) == 0
	})
	r.mark("scaled to zero")
	r.check("back to zero after the idle grace", zero, "waited %s (bound %s)", time.Since(began).Round(time.Second), r.opts.ScaleDownWait)
	return nil
}

// expectedInstances is what Knative's autoscaler wants for concurrency
// clients on function: ceil(concurrency / target) within max-scale.
func (r *run) expectedInstances(function string, concurrency int) (want, maxScale int, known bool) {
	spec, ok := r.env.Specs[function]
	if !ok || spec.Target <= 0 {
		return 0, 0, false
	}
	maxScale = r.env.maxScale(spec)
	want = min(int(math.Ceil(float64(concurrency)/spec.Target)), maxScale)
	return want, maxScale, true
}

// maxScale is the most instances the runtime gives spec's function: its
// max-scale (0: unlimited) within the runtime's cap.
func (e *Env) maxScale(spec serving.Spec) int {
	if spec.MaxScale <= 0 || spec.MaxScale > e.MaxScaleLimit {
		return e.MaxScaleLimit
	}
	return spec.MaxScale
}
