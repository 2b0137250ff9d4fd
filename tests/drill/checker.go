package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/eventing/pkg/kncloudevents"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/broker"
)

// Check asks the local runtime's invariant checker (GET /_local/check):
// every broken rule of SPEC 3 and every MyPage row that disagrees with its
// sources. It reads whole tables one after the other, so on a system at
// work a finding may be a change caught half-way: ask again.
func (e *Env) Check(ctx context.Context) (app.Report, error) {
	var rep app.Report
	err := e.control(ctx, http.MethodGet, "/_local/check", nil, &rep)
	return rep, err
}

// Redrive re-drives every dead letter not re-driven before
// (POST /_local/dead-letters/redrive) and returns what it did.
func (e *Env) Redrive(ctx context.Context) (broker.RedriveResult, error) {
	var res broker.RedriveResult
	err := e.control(ctx, http.MethodPost, "/_local/dead-letters/redrive", nil, &res)
	return res, err
}

// repairs describes what a reconciler has repaired, as /_local/status
// shows it under "reconciler", and reports whether it shows one.
func (r *run) repairs(ctx context.Context) (string, bool) {
	var parts map[string]json.RawMessage
	res := r.env.Do(ctx, "", http.MethodGet, "/_local/status", nil)
	if !res.OK() || res.Decode(&parts) != nil {
		return "n/a: /_local/status did not answer: " + res.String(), false
	}
	if rec, ok := parts["reconciler"]; ok {
		return string(rec), true
	}
	return "0, n/a: /_local/status shows no reconciler (none runs locally)", false
}

// retryPolicy is the triggers' delivery as knative/eventing sets it, run
// as the local broker runs it (kncloudevents).
type retryPolicy struct {
	spec   *eventingduckv1.DeliverySpec
	config kncloudevents.RetryConfig
	err    error
}

// worstGap is what the README promises when the manifests are not found:
// at most 40 s between two tries.
const worstGap = 40 * time.Second

// loadRetryPolicy reads the delivery of the consumers' triggers from
// knative/eventing beside the knative/services the drills find. The
// triggers share one delivery (infra/broker checks it); the first
// consumer's is taken.
func loadRetryPolicy() retryPolicy {
	services := findServices()
	if services == "" {
		return retryPolicy{err: errNoManifests}
	}
	cfg, err := broker.LoadConfig(filepath.Join(filepath.Dir(services), "eventing"))
	if err != nil {
		return retryPolicy{err: err}
	}
	tr, ok := cfg.Trigger(consumers[0])
	if !ok || tr.Delivery == nil {
		return retryPolicy{err: errNoManifests}
	}
	config, err := kncloudevents.RetryConfigFromDeliverySpec(*tr.Delivery)
	return retryPolicy{spec: tr.Delivery, config: config, err: err}
}

var errNoManifests = errors.New("no trigger delivery found in knative/eventing")

// gap bounds how long after the end of an outage of down an event that
// has waited since its start is tried again: the wait between the two
// tries around down. Tries come at 0, 0, 1, 3, 6, 10 s ... for a linear
// backoff of 1 s, so an outage of T seconds ends at most about √(2T) s
// before the next try. It is the README's 40 s when the policy is unknown
// or runs out before down (the event is then dead-lettered).
func (p retryPolicy) gap(down time.Duration) time.Duration {
	if p.err != nil || p.config.Backoff == nil {
		return worstGap
	}
	var at time.Duration
	for n := range p.config.RetryMax {
		wait := p.config.Backoff(n, nil)
		if at+wait >= down {
			return wait
		}
		at += wait
	}
	return worstGap
}

// budget is how long the retries wait in all before an event is
// dead-lettered.
func (p retryPolicy) budget() time.Duration {
	var all time.Duration
	for n := range p.config.RetryMax {
		all += p.config.Backoff(n, nil)
	}
	return all
}

func (p retryPolicy) String() string {
	if p.err != nil {
		return "unknown (" + p.err.Error() + "); at most " + worstGap.String() + " between two tries"
	}
	var b strings.Builder
	b.WriteString("retry ")
	if p.spec.Retry != nil {
		fmt.Fprint(&b, *p.spec.Retry)
	}
	if p.spec.BackoffPolicy != nil && p.spec.BackoffDelay != nil {
		b.WriteString(", " + string(*p.spec.BackoffPolicy) + " from " + *p.spec.BackoffDelay)
	}
	b.WriteString(": " + p.budget().String() + " of waiting before a dead letter; a waiting event is tried again within ")
	b.WriteString(p.gap(time.Minute).String() + " of a 60 s outage's end, " + p.gap(30*time.Second).String() + " of a 30 s one, " +
		p.gap(2*time.Second).String() + " of a 2 s one, and " + p.gap(p.budget()).String() + " at worst")
	return b.String()
}
