package broker

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
)

func TestCommitWindowCommitsOnlyContiguousOffsets(t *testing.T) {
	t.Parallel()
	var window commitWindow
	records := make([]*kgo.Record, 5)
	for i := range records {
		records[i] = &kgo.Record{Offset: int64(i)}
		window.begin(records[i])
	}

	assert.Nil(t, window.finish(records[1]), "offset 0 is still in flight")
	assert.Nil(t, window.finish(records[3]))
	assert.Same(t, records[1], window.finish(records[0]), "0 and 1 are done")
	assert.Same(t, records[3], window.finish(records[2]), "now 2 and 3 too")
	assert.Same(t, records[4], window.finish(records[4]))
}

func TestBackoffFollowsKnative(t *testing.T) {
	t.Parallel()
	backoffOf := func(spec eventingduckv1.DeliverySpec) func(int, answer) time.Duration {
		policy, err := retryPolicy(&spec)
		require.NoError(t, err)
		return func(attempt int, a answer) time.Duration { return backoff(policy, attempt, a) }
	}
	exponential, linear := eventingduckv1.BackoffPolicyExponential, eventingduckv1.BackoffPolicyLinear
	delay, retryAfterMax := "PT0.5S", "PT3S"
	unavailable := answer{status: http.StatusServiceUnavailable, header: http.Header{"Retry-After": {"10"}}}
	failed := answer{status: http.StatusInternalServerError, header: http.Header{"Retry-After": {"10"}}}

	exp := backoffOf(eventingduckv1.DeliverySpec{BackoffPolicy: &exponential, BackoffDelay: &delay})
	assert.Equal(t, 500*time.Millisecond, exp(0, failed))
	assert.Equal(t, 2*time.Second, exp(2, failed))
	assert.Equal(t, 500*time.Millisecond, exp(0, unavailable), "Retry-After counts only with retryAfterMax")

	lin := backoffOf(eventingduckv1.DeliverySpec{BackoffPolicy: &linear, BackoffDelay: &delay})
	assert.Zero(t, lin(0, failed), "Knative's linear backoff retries at once first")
	assert.Equal(t, time.Second, lin(2, failed))

	capped := backoffOf(eventingduckv1.DeliverySpec{BackoffPolicy: &exponential, BackoffDelay: &delay, RetryAfterMax: &retryAfterMax})
	assert.Equal(t, 3*time.Second, capped(0, unavailable), "Retry-After, capped at retryAfterMax")
	assert.Equal(t, 500*time.Millisecond, capped(0, failed), "but only on 429 and 503")
	assert.Equal(t, 4*time.Second, capped(3, unavailable), "the longer of the two")
}

func TestRecordsRoundTripInBothContentModes(t *testing.T) {
	t.Parallel()
	e := newEvent("id-1", "carrot.item.updated.v1", "item-4")
	e.SetSubject("item-4")
	e.SetExtension("knativeerrorcode", 500)
	for _, mode := range []string{ContentModeStructured, ContentModeBinary} {
		t.Run(mode, func(t *testing.T) {
			record, err := newRecord("topic", e, mode)
			require.NoError(t, err)
			assert.Equal(t, "item-4", string(record.Key))
			got, err := eventOf(record)
			require.NoError(t, err)
			assert.Equal(t, e.ID(), got.ID())
			assert.Equal(t, e.Type(), got.Type())
			assert.Equal(t, e.Subject(), got.Subject())
			assert.Equal(t, e.Time(), got.Time())
			assert.Equal(t, e.DataContentType(), got.DataContentType())
			assert.JSONEq(t, string(e.Data()), string(got.Data()))
			assert.Equal(t, "item-4", mustExtension(t, got, "partitionkey"))
			assert.Equal(t, 500, mustIntExtension(t, got, "knativeerrorcode"))
		})
	}
	_, err := eventOf(&kgo.Record{Value: []byte("not json")})
	assert.Error(t, err)
}
