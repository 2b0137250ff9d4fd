package tests

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/tests/drill"
	"github.com/carrot-market/carrot/tests/system"
)

// startUnderLoad bounds the start of the systems below, which build every
// function first: on a busy 2-core machine that alone can take minutes.
const startUnderLoad = 5 * time.Minute

// tracingEnv turns tracing on in the runtime and every function, exporting
// to endpoint every 100 ms.
func tracingEnv(endpoint string) map[string]string {
	return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
}

// TestTraceFollowsADeal pays for a reserved item while the reservation
// policy is down, so that the broker's first deliveries of the payment
// fail and are retried, and reads the spans back from an OTLP receiver:
// one trace, begun by the caller's traceparent, holds the gateway, the pay
// function and its DynamoDB calls, the event's send, the broker's ingress
// and delivery with its failed and retried attempts, the reservation
// policy, the item policy and the MyPage projector, each below the one
// before.
func TestTraceFollowsADeal(t *testing.T) {
	receiver, err := system.StartSpanReceiver()
	require.NoError(t, err)
	t.Cleanup(receiver.Close)
	sys := MustStart(t, system.Options{Env: tracingEnv(receiver.Endpoint()), StartTimeout: startUnderLoad})

	itemID := sys.MustRegister(t, seller, "lamp", 7000)
	rsvID := sys.MustChat(t, buyer, itemID)
	sys.MustConfirm(t, seller, rsvID, system.Day(3), "19:00", "Mangwon market")
	sys.EventuallyPage(t, seller, itemID, map[string]any{"itemStatus": "RESERVED", "rsvStatus": "CONFIRMED"})
	sys.EventuallyQuiet(t)

	mustControl(t, sys, http.MethodPost, "/_local/functions/reservation-policy/outage")
	const traceID = "5d0c7ad2e5f94a3b8c1e0f2a4b6c8d0e"
	token, err := sys.Token(t.Context(), buyer)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, sys.Gateway+"/payments", strings.NewReader(`{"rsvId":"`+rsvID+`"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	res := sys.RoundTrip(req)
	require.Equal(t, http.StatusCreated, res.Status, "pay: %s", res)
	// The policy comes back once its first attempt has failed.
	require.Eventually(t, func() bool {
		for _, s := range receiver.Trace(traceID) {
			if s.Name == "attempt 1" && s.Error && strings.Contains(s.Attributes["url.full"], "reservation-policy") {
				return true
			}
		}
		return false
	}, settle, tick, "no failed attempt to reach the reservation policy")
	mustControl(t, sys, http.MethodDelete, "/_local/functions/reservation-policy/outage")
	sys.EventuallyPage(t, seller, itemID, map[string]any{"itemStatus": "SOLDOUT", "rsvStatus": "COMPLETED"})

	var tr system.Trace
	require.Eventually(t, func() bool {
		tr = receiver.Trace(traceID)
		return len(tr.Named("mypage", "process carrot.item.soldout.v1")) > 0
	}, settle, tick, "the projector's span of item.soldout never arrived; %d spans of the trace", len(receiver.Trace(traceID)))

	chain := []struct {
		service, name string
	}{
		{"carrot", "POST /payments"},
		{"carrot", "proxy to pay"},
		{"pay", "POST /payments"},
		{"pay", "send carrot.payment.approved.v1"},
		{"carrot", "broker ingress carrot.payment.approved.v1"},
		{"carrot", "deliver carrot.payment.approved.v1 to reservation-policy"},
	}
	var above system.Span
	for i, step := range chain {
		spans := tr.Named(step.service, step.name)
		require.NotEmpty(t, spans, "%s: %s is missing from the trace", step.service, step.name)
		if i > 0 {
			assert.True(t, tr.Descends(spans[0], above), "%s: %s is below %s: %s", step.service, step.name, above.Service, above.Name)
		}
		above = spans[0]
	}
	assert.Equal(t, "00f067aa0ba902b7", tr.Named("carrot", "POST /payments")[0].ParentID, "the gateway continues the caller's trace")
	pay := tr.Named("pay", "POST /payments")[0]
	assert.True(t, anyBelow(tr, tr.Named("pay", "DynamoDB."), pay), "the pay function's DynamoDB calls are below its request")

	delivery := above
	attempts := tr.Children(delivery)
	require.GreaterOrEqual(t, len(attempts), 2, "the delivery to reservation-policy was retried")
	attempts.SortByStart()
	assert.True(t, attempts[0].Error, "the first attempt failed: %+v", attempts[0])
	assert.Equal(t, "false", attempts[0].Attributes["carrot.delivery.retry"])
	last := attempts[len(attempts)-1]
	assert.False(t, last.Error, "the last attempt succeeded: %+v", last)
	assert.Equal(t, "true", last.Attributes["carrot.delivery.retry"])

	policy := tr.Named("reservation-policy", "process carrot.payment.approved.v1")
	require.NotEmpty(t, policy, "the reservation policy's span")
	assert.True(t, tr.Descends(policy[0], last), "the policy handled the retried attempt")
	assert.True(t, anyBelow(tr, tr.Named("reservation-policy", "DynamoDB."), policy[0]), "the policy's DynamoDB calls are below it")
	itemPolicy := tr.Named("item-policy", "process carrot.reservation.completed.v1")
	require.NotEmpty(t, itemPolicy, "the item policy's span")
	assert.True(t, tr.Descends(itemPolicy[0], policy[0]), "the item policy follows the reservation policy's event")
	projector := tr.Named("mypage", "process carrot.item.soldout.v1")
	assert.True(t, tr.Descends(projector[0], itemPolicy[0]), "the projector follows the item policy's event")

	// The waterfall of the drills draws it.
	assert.NoError(t, drill.SaveWaterfall(tr, "a deal's payment, retried", filepath.Join(t.TempDir(), "deal-trace.png")))
}

// anyBelow reports whether one of spans is below ancestor in tr.
func anyBelow(tr system.Trace, spans system.Trace, ancestor system.Span) bool {
	for _, s := range spans {
		if tr.Descends(s, ancestor) {
			return true
		}
	}
	return false
}

// TestTracingAddsNoFailure walks a whole deal with tracing on and the
// collector down: every command succeeds, and the processes say, once,
// that their spans were not exported.
func TestTracingAddsNoFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	env := tracingEnv(down)
	env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "1000"
	sys := MustStart(t, system.Options{Env: env, StartTimeout: startUnderLoad})

	walkDeal(t, sys)
	require.Eventually(t, func() bool {
		return len(sys.Lines("spans not exported")) > 0
	}, settle, tick, "tracing was on and failed to export")
	sys.MustStop(t)
}
