package broker

import (
	"context"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"
)

// newFilter builds a trigger's filter as Knative's broker filter chooses
// it: the SubscriptionsAPI filters (spec.filters) when there are any, else
// the attributes filter (spec.filter), else none, which passes everything.
// An event is delivered unless the filter answers FailFilter.
//
// The matching itself is Knative's: its exact, prefix, suffix, not and CE
// SQL filters, and its attributes filter. Only the all and any
// combinators are the broker's own, with Knative's results: Knative's
// reorder their children from a background goroutine without
// synchronization, a data race that `go test -race` reports as soon as
// two events pass through one.
func newFilter(t TriggerConfig) (eventfilter.Filter, error) {
	switch {
	case len(t.Filters) > 0:
		children, err := materializeAll(t.Filters)
		return allOf(children), err
	case t.Filter != nil:
		return attributes.NewAttributesFilter(t.Filter.Attributes), nil
	default:
		return subscriptionsapi.NewNoFilter(), nil
	}
}

// materialize turns one SubscriptionsAPI filter into Knative's filter, as
// subscriptionsapi.MaterializeSubscriptionsAPIFilter does, but fails on an
// expression Knative would skip with a warning: a trigger that silently
// matches more than it says is worse than one that does not start. An
// empty filter is nil and skipped, as in Knative.
func materialize(f eventingv1.SubscriptionsAPIFilter) (eventfilter.Filter, error) {
	switch {
	case len(f.Exact) > 0:
		return subscriptionsapi.NewExactFilter(f.Exact)
	case len(f.Prefix) > 0:
		return subscriptionsapi.NewPrefixFilter(f.Prefix)
	case len(f.Suffix) > 0:
		return subscriptionsapi.NewSuffixFilter(f.Suffix)
	case len(f.All) > 0:
		children, err := materializeAll(f.All)
		return allOf(children), err
	case len(f.Any) > 0:
		children, err := materializeAll(f.Any)
		return anyOf(children), err
	case f.Not != nil:
		child, err := materialize(*f.Not)
		return subscriptionsapi.NewNotFilter(child), err
	case f.CESQL != "":
		return subscriptionsapi.NewCESQLFilter(f.CESQL)
	}
	return nil, nil
}

func materializeAll(filters []eventingv1.SubscriptionsAPIFilter) ([]eventfilter.Filter, error) {
	var out []eventfilter.Filter
	for i, f := range filters {
		child, err := materialize(f)
		if err != nil {
			return nil, fmt.Errorf("filter %d: %w", i, err)
		}
		if child != nil {
			out = append(out, child)
		}
	}
	return out, nil
}

// allOf fails as soon as one child fails; otherwise it answers what its
// last child answered (NoFilter when it has none), as Knative's all does.
type allOf []eventfilter.Filter

func (filters allOf) Filter(ctx context.Context, e cloudevents.Event) eventfilter.FilterResult {
	return firstOrLast(ctx, e, filters, eventfilter.FailFilter)
}

func (filters allOf) Cleanup() { cleanup(filters) }

// anyOf passes as soon as one child passes; otherwise it answers what its
// last child answered (NoFilter when it has none), as Knative's any does.
type anyOf []eventfilter.Filter

func (filters anyOf) Filter(ctx context.Context, e cloudevents.Event) eventfilter.FilterResult {
	return firstOrLast(ctx, e, filters, eventfilter.PassFilter)
}

func (filters anyOf) Cleanup() { cleanup(filters) }

// firstOrLast asks the filters in turn and stops at the first that
// answers decisive; otherwise it answers what the last one answered.
func firstOrLast(ctx context.Context, e cloudevents.Event, filters []eventfilter.Filter, decisive eventfilter.FilterResult) eventfilter.FilterResult {
	result := eventfilter.NoFilter
	for _, f := range filters {
		if result = f.Filter(ctx, e); result == decisive {
			return result
		}
	}
	return result
}

func cleanup(filters []eventfilter.Filter) {
	for _, f := range filters {
		f.Cleanup()
	}
}
