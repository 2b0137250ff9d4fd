package broker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestIngressWritesAcknowledgedEventsKeyedByPartitionKey(t *testing.T) {
	t.Parallel()
	cluster, b := MustStart(t, "", nil)

	binary := newEvent("e-1", "carrot.item.registered.v1", "item-7")
	structured := newEvent("e-2", "carrot.item.updated.v1", "item-7")
	unkeyed := newEvent("e-3", "carrot.item.updated.v1", "")
	for _, tc := range []struct {
		name  string
		req   *http.Request
		valid bool
	}{
		{"binary", eventRequest(t, binary, binding.WithForceBinary(context.Background())), true},
		{"structured", eventRequest(t, structured, binding.WithForceStructured(context.Background())), true},
		{"no partition key", eventRequest(t, unkeyed, binding.WithForceBinary(context.Background())), true},
	} {
		rec := httptest.NewRecorder()
		b.Ingress().ServeHTTP(rec, tc.req)
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

	knativePath := eventRequest(t, newEvent("k-1", "t", ""), binding.WithForceBinary(context.Background()))
	knativePath.URL.Path = "/default/b"
	rec := httptest.NewRecorder()
	b.Ingress().ServeHTTP(rec, knativePath)
	assert.Equal(t, http.StatusAccepted, rec.Code, "Knative's ingress path works too")
}

func TestIngressAnswers503WhenKafkaIsGone(t *testing.T) {
	t.Parallel()
	cluster, b := MustStart(t, trigger("view", ordered, "", ""), map[string]string{"view": "http://127.0.0.1:1/"}, WithProduceTimeout(300*time.Millisecond))
	cluster.Close()

	rec := httptest.NewRecorder()
	start := time.Now()
	b.Ingress().ServeHTTP(rec, eventRequest(t, newEvent("lost", "t", "i"), binding.WithForceBinary(context.Background())))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	assert.Less(t, time.Since(start), 5*time.Second, "the caller learns quickly")
}

func TestIngressRefusesWhatKafkaNeverTakes(t *testing.T) {
	t.Parallel()
	_, b := MustStart(t, "", nil)

	huge := newEvent("huge", "carrot.item.updated.v1", "item-1")
	require.NoError(t, huge.SetData("text/plain", strings.Repeat("x", 2<<20)))
	rec := httptest.NewRecorder()
	b.Ingress().ServeHTTP(rec, eventRequest(t, huge, binding.WithForceBinary(context.Background())))
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
