package tests

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/broker"
	"github.com/carrot-market/carrot/tests/system"
)

// emits is what each function publishes, as functions/registry declares
// it. TestManifestsGrantWhatFunctionsUse checks the declarations against
// what the functions publish through a whole deal.
var emits = func() map[string][]events.Type {
	m := map[string][]events.Type{}
	for _, f := range registry.All {
		m[f.Name] = f.Emits
	}
	return m
}()

// TestTriggersCannotLoop reads the triggers of knative/eventing, as the
// runtime does, and checks that no event can travel in a circle: no
// trigger takes an event its own subscriber emits, and no chain of
// triggers leads from a function back to itself.
func TestTriggersCannotLoop(t *testing.T) {
	t.Parallel()
	cfg, err := broker.LoadConfig(filepath.Join(repoRoot, "knative", "eventing"))
	require.NoError(t, err)
	require.NotEmpty(t, cfg.Triggers)

	published := map[events.Type]bool{}
	for _, types := range emits {
		for _, typ := range types {
			published[typ] = true
		}
	}
	for _, typ := range events.Types() {
		assert.True(t, published[typ], "no function in the emits table publishes %s; the table is out of date", typ)
	}

	// next[a] are the functions that receive some event a emits.
	next := map[string][]string{}
	for _, tr := range cfg.Triggers {
		require.NotNil(t, tr.Subscriber.Ref, "trigger %s: subscriber is not a Service ref", tr.Name)
		subscriber := tr.Subscriber.Ref.Name
		require.Contains(t, emits, subscriber, "trigger %s delivers to %s, which the emits table does not know", tr.Name, subscriber)
		for from, types := range emits {
			for _, typ := range types {
				if !passes(t, tr, eventOf(typ, from)) {
					continue
				}
				assert.NotEqual(t, from, subscriber, "trigger %s hands %s back to %s, which emitted it", tr.Name, typ, from)
				if !slices.Contains(next[from], subscriber) {
					next[from] = append(next[from], subscriber)
				}
			}
		}
	}
	for from := range emits {
		if cycle := cycleFrom(from, next, nil); cycle != nil {
			assert.Fail(t, "events can go round in a circle", "%s", strings.Join(cycle, " → "))
		}
	}
	// The choreography of SPEC section 5 is wired: the checks above are
	// not passing for want of triggers.
	assert.Contains(t, next["pay"], "reservation-policy")
	assert.Contains(t, next["reservation-policy"], "item-policy")
	assert.Contains(t, next["item-policy"], "mypage")
}

// TestEventsComeToRest runs a whole deal on a running system and checks,
// on the events Kafka holds, that no trigger received an event its own
// subscriber published, that every function published only what the emits
// table says, and that once the deal is done the triggers come to rest:
// lag 0, counts that stop growing, and each record of the broker topic
// handled exactly once by each trigger (no event ping-pong).
func TestEventsComeToRest(t *testing.T) {
	sys := MustStart(t, system.Options{})
	cfg, err := broker.LoadConfig(filepath.Join(repoRoot, "knative", "eventing"))
	require.NoError(t, err)

	walkDeal(t, sys)
	st := sys.EventuallyQuiet(t)
	log := sys.Events(t, brokerTopic)
	require.NotEmpty(t, log)

	seen := map[string]map[events.Type]bool{}
	for _, e := range log {
		from, ok := strings.CutPrefix(e.Source(), "/carrot/")
		require.True(t, ok, "event %s has source %q", e.ID(), e.Source())
		if seen[from] == nil {
			seen[from] = map[events.Type]bool{}
		}
		seen[from][events.Type(e.Type())] = true
		assert.Contains(t, emits[from], events.Type(e.Type()), "%s published %s, which the emits table does not list", from, e.Type())
		for _, tr := range cfg.Triggers {
			if tr.Subscriber.Ref != nil && tr.Subscriber.Ref.Name == from {
				assert.False(t, passes(t, tr, e), "trigger %s takes %s, which its subscriber %s published", tr.Name, e.Type(), from)
			}
		}
	}
	for _, from := range []string{"register-item", "request-chat", "confirm-reservation", "pay", "cancel-payment", "write-review", "reservation-policy", "item-policy"} {
		assert.NotEmpty(t, seen[from], "the deal published nothing from %s", from)
	}

	for _, tr := range cfg.Triggers {
		status := st.Trigger(tr.Name)
		require.Equal(t, tr.Name, status.Name, "trigger %s is missing from /_local/status", tr.Name)
		handled := status.Delivered + status.Filtered + status.DeadLettered + status.Dropped
		assert.EqualValues(t, len(log), handled, "trigger %s handled %+v for %d records", tr.Name, status, len(log))
		assert.Zero(t, status.DeadLettered+status.Dropped, "trigger %s failed events: %+v", tr.Name, status)
		want := 0
		for _, e := range log {
			if passes(t, tr, e) {
				want++
			}
		}
		assert.EqualValues(t, want, status.Delivered, "trigger %s delivered", tr.Name)
	}

	sys.MustStop(t)
}

// eventOf returns an event of type typ as function from would publish it.
func eventOf(typ events.Type, from string) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID("probe")
	e.SetType(string(typ))
	e.SetSource("/carrot/" + from)
	e.SetSubject("item")
	e.SetExtension(events.PartitionKeyExtension, "item")
	return e
}

// passes reports whether tr's filters let e through, with Knative's rules:
// spec.filters when set (all of them), else spec.filter's attributes, else
// everything; an event passes unless a filter fails it. Leaves are
// Knative's own filters; the all and any combinators are written out
// here, because Knative's reorder their children from a goroutine without
// synchronization, which the race detector reports.
func passes(t *testing.T, tr broker.TriggerConfig, e cloudevents.Event) bool {
	t.Helper()
	var result eventfilter.FilterResult
	switch {
	case len(tr.Filters) > 0:
		result = allOf(t, tr.Filters, e)
	case tr.Filter != nil:
		result = attributes.NewAttributesFilter(tr.Filter.Attributes).Filter(context.Background(), e)
	default:
		result = eventfilter.NoFilter
	}
	return result != eventfilter.FailFilter
}

func evaluate(t *testing.T, f eventingv1.SubscriptionsAPIFilter, e cloudevents.Event) eventfilter.FilterResult {
	t.Helper()
	leaf := func(f eventfilter.Filter, err error) eventfilter.FilterResult {
		require.NoError(t, err)
		return f.Filter(context.Background(), e)
	}
	switch {
	case len(f.Exact) > 0:
		return leaf(subscriptionsapi.NewExactFilter(f.Exact))
	case len(f.Prefix) > 0:
		return leaf(subscriptionsapi.NewPrefixFilter(f.Prefix))
	case len(f.Suffix) > 0:
		return leaf(subscriptionsapi.NewSuffixFilter(f.Suffix))
	case len(f.All) > 0:
		return allOf(t, f.All, e)
	case len(f.Any) > 0:
		return anyOf(t, f.Any, e)
	case f.Not != nil:
		switch evaluate(t, *f.Not, e) {
		case eventfilter.PassFilter:
			return eventfilter.FailFilter
		case eventfilter.FailFilter:
			return eventfilter.PassFilter
		}
		return eventfilter.NoFilter
	case f.CESQL != "":
		return leaf(subscriptionsapi.NewCESQLFilter(f.CESQL))
	}
	return eventfilter.NoFilter
}

// allOf fails as soon as a child fails, else answers the last child's
// result; anyOf passes as soon as a child passes, else answers the last.
func allOf(t *testing.T, fs []eventingv1.SubscriptionsAPIFilter, e cloudevents.Event) eventfilter.FilterResult {
	return firstOrLast(t, fs, e, eventfilter.FailFilter)
}

func anyOf(t *testing.T, fs []eventingv1.SubscriptionsAPIFilter, e cloudevents.Event) eventfilter.FilterResult {
	return firstOrLast(t, fs, e, eventfilter.PassFilter)
}

func firstOrLast(t *testing.T, fs []eventingv1.SubscriptionsAPIFilter, e cloudevents.Event, decisive eventfilter.FilterResult) eventfilter.FilterResult {
	result := eventfilter.NoFilter
	for _, f := range fs {
		if result = evaluate(t, f, e); result == decisive {
			return result
		}
	}
	return result
}

// cycleFrom returns a path from the last function of path (or from start)
// back to a function already on it, or nil when there is none.
func cycleFrom(start string, next map[string][]string, path []string) []string {
	if i := slices.Index(path, start); i >= 0 {
		return append(slices.Clone(path[i:]), start)
	}
	path = append(path, start)
	for _, to := range next[start] {
		if cycle := cycleFrom(to, next, path); cycle != nil {
			return cycle
		}
	}
	return nil
}
