package drill

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jaegerAnswer is a retried delivery as Jaeger's query API shows it: the
// delivery span has a failed attempt and a retry that got through.
const jaegerAnswer = `{"data":[{"traceID":"t1","spans":[
 {"traceID":"t1","spanID":"a","operationName":"POST /items","references":[],"startTime":1000000,"duration":9000,"tags":[{"key":"span.kind","type":"string","value":"server"}],"processID":"p1"},
 {"traceID":"t1","spanID":"c","operationName":"attempt 1","references":[{"refType":"CHILD_OF","traceID":"t1","spanID":"b"}],"startTime":1012000,"duration":1000,"tags":[{"key":"error","type":"bool","value":true}],"processID":"p2"},
 {"traceID":"t1","spanID":"b","operationName":"deliver carrot.item.registered.v1 to mypage","references":[{"refType":"CHILD_OF","traceID":"t1","spanID":"a"}],"startTime":1011000,"duration":30000,"tags":[],"processID":"p2"},
 {"traceID":"t1","spanID":"d","operationName":"retry 1","references":[{"refType":"CHILD_OF","traceID":"t1","spanID":"b"}],"startTime":1030000,"duration":8000,"tags":[{"key":"carrot.delivery.retry","type":"bool","value":true}],"processID":"p2"}],
 "processes":{"p1":{"serviceName":"register-item"},"p2":{"serviceName":"carrot"}}}]}`

func TestWaterfallOfAJaegerTrace(t *testing.T) {
	t.Parallel()
	jaeger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/traces/t1" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(jaegerAnswer))
	}))
	t.Cleanup(jaeger.Close)

	trace, err := FetchTrace(t.Context(), jaeger.URL, "t1")
	require.NoError(t, err)
	var order []string
	for _, row := range waterfallRows(trace) {
		order = append(order, row.span.Service+": "+row.span.Name)
	}
	assert.Equal(t, []string{"register-item: POST /items", "carrot: deliver carrot.item.registered.v1 to mypage",
		"carrot: attempt 1", "carrot: retry 1"}, order, "parents first, siblings by start")
	rows := waterfallRows(trace)
	assert.True(t, rows[2].span.Error, "the failed attempt is an error")
	assert.Equal(t, "true", rows[3].span.Attributes["carrot.delivery.retry"])
	assert.Equal(t, 2, rows[2].depth)

	path := filepath.Join(t.TempDir(), "trace.png")
	require.NoError(t, SaveWaterfall(trace, "retry: trace t1", path))
	png, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "\x89PNG", string(png[:4]))

	_, err = FetchTrace(t.Context(), jaeger.URL, "t2")
	assert.Error(t, err, "an unknown trace")
}
