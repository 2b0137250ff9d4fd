package broker

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/eventfilter"
	"sigs.k8s.io/yaml"
)

func TestFilterKeepsKnativeSemantics(t *testing.T) {
	t.Parallel()
	paid := newEvent("1", "carrot.payment.approved.v1", "item-1")
	chat := newEvent("2", "carrot.chat.message.posted.v1", "item-2")
	tests := []struct {
		name       string
		filters    string
		paid, chat eventfilter.FilterResult
	}{
		{"exact", `[{exact: {type: carrot.payment.approved.v1}}]`, eventfilter.PassFilter, eventfilter.FailFilter},
		{"exact on an extension", `[{exact: {partitionkey: item-2}}]`, eventfilter.FailFilter, eventfilter.PassFilter},
		{"prefix", `[{prefix: {type: carrot.payment.}}]`, eventfilter.PassFilter, eventfilter.FailFilter},
		{"suffix", `[{suffix: {type: .posted.v1}}]`, eventfilter.FailFilter, eventfilter.PassFilter},
		{"any", `[{any: [{exact: {type: x}}, {prefix: {type: carrot.chat}}]}]`, eventfilter.FailFilter, eventfilter.PassFilter},
		{"all", `[{all: [{prefix: {type: carrot.}}, {suffix: {type: .v1}}]}]`, eventfilter.PassFilter, eventfilter.PassFilter},
		{"filters are and-ed", `[{prefix: {type: carrot.}}, {exact: {partitionkey: item-1}}]`, eventfilter.PassFilter, eventfilter.FailFilter},
		{"not", `[{not: {prefix: {type: carrot.chat}}}]`, eventfilter.PassFilter, eventfilter.FailFilter},
		{"cesql", `[{cesql: "type LIKE 'carrot.payment.%'"}]`, eventfilter.PassFilter, eventfilter.FailFilter},
		{"empty any", `[{any: []}]`, eventfilter.NoFilter, eventfilter.NoFilter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var filters []eventingv1.SubscriptionsAPIFilter
			require.NoError(t, yaml.UnmarshalStrict([]byte(tc.filters), &filters))
			filter, err := newFilter(TriggerConfig{Filters: filters})
			require.NoError(t, err)
			defer filter.Cleanup()
			assert.Equal(t, tc.paid, filter.Filter(context.Background(), paid), "payment event")
			assert.Equal(t, tc.chat, filter.Filter(context.Background(), chat), "chat event")
		})
	}
}

func TestFilterFallsBackToAttributesThenToNothing(t *testing.T) {
	t.Parallel()
	e := newEvent("1", "carrot.item.registered.v1", "item-1")

	attributes, err := newFilter(TriggerConfig{Filter: &eventingv1.TriggerFilter{Attributes: eventingv1.TriggerFilterAttributes{"type": "carrot.item.registered.v1"}}})
	require.NoError(t, err)
	assert.Equal(t, eventfilter.PassFilter, attributes.Filter(context.Background(), e))

	none, err := newFilter(TriggerConfig{})
	require.NoError(t, err)
	assert.NotEqual(t, eventfilter.FailFilter, none.Filter(context.Background(), e))
}
