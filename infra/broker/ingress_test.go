package broker

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestIngressWritesAcknowledgedEventsKeyedByPartitionKey(t *testing.T) {
	t.Parallel()
	cluster, b := MustStart(t, "", nil)

	for _, tc := range []struct {
		name, id, item, mode string
	}{
		{"binary", "e-1", "item-7", ContentModeBinary},
		{"structured", "e-2", "item-7", ContentModeStructured},
		{"no partition key", "e-3", "", ContentModeBinary},
	} {
		rec := post(t, b.Ingress(), newEvent(tc.id, "carrot.item.updated.v1", tc.item), tc.mode)
		assert.Equal(t, http.StatusAccepted, rec.Code, "%s: %s", tc.name, rec.Body.String())
	}

	records := MustRecords(t, cluster, "knative-broker-default-b", 3)
	keys, partitions := map[string]string{}, map[string]int32{}
	for _, r := range records {
		e, err := eventOf(r)
		require.NoError(t, err)
		keys[e.ID()], partitions[e.ID()] = string(r.Key), r.Partition
		assert.True(t, json.Valid(r.Value), "the value is the structured event, readable with kcat")
		assert.Equal(t, structuredMediaType, mustHeader(t, r.Headers, headerContentType))
	}
	assert.Equal(t, map[string]string{"e-1": "item-7", "e-2": "item-7", "e-3": "e-3"}, keys)
	assert.Equal(t, partitions["e-1"], partitions["e-2"], "one item, one partition")
}

func TestIngressRefusals(t *testing.T) {
	t.Parallel()
	_, b := MustStart(t, "", nil)

	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"not an event", httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"hello":"world"}`)), http.StatusBadRequest},
		{"event without source", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
			r.Header.Set("Ce-Specversion", "1.0")
			r.Header.Set("Ce-Id", "x")
			r.Header.Set("Ce-Type", "t")
			return r
		}(), http.StatusBadRequest},
		{"get", httptest.NewRequest(http.MethodGet, "/", nil), http.StatusMethodNotAllowed},
		{"other path", httptest.NewRequest(http.MethodPost, "/default/other", nil), http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			b.Ingress().ServeHTTP(rec, tc.req)
			assert.Equal(t, tc.status, rec.Code)
			assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		})
	}

	knativePath := eventRequest(t, newEvent("k-1", "t", ""), ContentModeBinary)
	knativePath.URL.Path = "/default/b"
	rec := httptest.NewRecorder()
	b.Ingress().ServeHTTP(rec, knativePath)
	assert.Equal(t, http.StatusAccepted, rec.Code, "Knative's ingress path works too")
}

func TestIngressAnswers503WhenKafkaIsGone(t *testing.T) {
	t.Parallel()
	cluster, b := MustStart(t, trigger("view", ordered, "", ""), map[string]string{"view": "http://127.0.0.1:1/"}, WithProduceTimeout(300*time.Millisecond))
	cluster.Close()

	start := time.Now()
	rec := post(t, b.Ingress(), newEvent("lost", "t", "i"), ContentModeBinary)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	assert.Less(t, time.Since(start), 5*time.Second, "the caller learns quickly")
}

func TestIngressRefusesWhatKafkaNeverTakes(t *testing.T) {
	t.Parallel()
	_, b := MustStart(t, "", nil)

	huge := newEvent("huge", "carrot.item.updated.v1", "item-1")
	require.NoError(t, huge.SetData("text/plain", strings.Repeat("x", 2<<20)))
	rec := post(t, b.Ingress(), huge, ContentModeBinary)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, "sending it again cannot help")
}

func mustHeader(tb testing.TB, headers []kgo.RecordHeader, key string) string {
	tb.Helper()
	for _, h := range headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	tb.Fatalf("no header %s", key)
	return ""
}
