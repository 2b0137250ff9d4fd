package broker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/carrot-market/carrot/events"
)

// waitFor bounds every wait of these tests.
const waitFor = 20 * time.Second

// MustCluster starts an in-process Kafka cluster on a free port, closed
// when the test ends.
func MustCluster(tb testing.TB) *Cluster {
	tb.Helper()
	cluster, err := StartCluster("127.0.0.1:0")
	require.NoError(tb, err)
	tb.Cleanup(cluster.Close)
	return cluster
}

// MustBroker starts a broker for the manifests in dir with fast commits,
// closed when the test ends (or earlier by the test).
func MustBroker(tb testing.TB, cluster *Cluster, cfg *Config, subscribers map[string]string, opts ...Option) *Broker {
	tb.Helper()
	resolve := func(name string) (string, error) {
		if url, ok := subscribers[name]; ok {
			return url, nil
		}
		return "", fmt.Errorf("no subscriber %s", name)
	}
	opts = append([]Option{
		WithLogger(zaptest.NewLogger(tb).Sugar()),
		WithCommitInterval(100 * time.Millisecond),
	}, opts...)
	b, err := New(cfg, cluster.Seeds(), resolve, opts...)
	require.NoError(tb, err)
	tb.Cleanup(b.Close)
	return b
}

// MustStart starts a cluster and, on it, a broker for MustConfig(extra),
// both closed when the test ends.
func MustStart(tb testing.TB, extra string, subscribers map[string]string, opts ...Option) (*Cluster, *Broker) {
	tb.Helper()
	cluster := MustCluster(tb)
	return cluster, MustBroker(tb, cluster, MustConfig(tb, extra), subscribers, opts...)
}

// MustConfig loads MustManifests with extra.
func MustConfig(tb testing.TB, extra string) *Config {
	tb.Helper()
	cfg, err := LoadConfig(MustManifests(tb, extra))
	require.NoError(tb, err)
	return cfg
}

// MustManifests writes a folder holding a Kafka broker b (3 retries, dead
// letters to the KafkaSink dead), a ConfigMap, a Service that must be
// ignored, and extra.
func MustManifests(tb testing.TB, extra string) string {
	tb.Helper()
	dir := tb.TempDir()
	base := `
# The broker.
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: b
  annotations: {eventing.knative.dev/broker.class: Kafka}
spec:
  config: {apiVersion: v1, kind: ConfigMap, name: b-config}
  delivery:
    retry: 3
    backoffPolicy: linear
    backoffDelay: PT0.1S
    deadLetterSink:
      ref: {apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: dead}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b-config}
data: {default.topic.partitions: "4"}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: {name: dead}
spec: {topic: dead-letters, contentMode: structured, bootstrapServers: [x:9092]}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: ignored}
spec: {template: {spec: {containers: [{image: ko://x}]}}}
`
	require.NoError(tb, os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(base), 0o600))
	require.NoError(tb, os.WriteFile(filepath.Join(dir, "extra.yml"), []byte(extra), 0o600))
	require.NoError(tb, os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a manifest"), 0o600))
	return dir
}

// trigger returns the YAML of a trigger of broker b delivering to the
// subscriber ref name, with the given filter and delivery blocks (YAML
// indented by four spaces, or empty).
func trigger(name, annotations, filters, delivery string) string {
	doc := fmt.Sprintf(`---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: %s
  annotations: {%s}
spec:
  broker: b
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: %s}
`, name, annotations, name)
	if filters != "" {
		doc += "  " + strings.TrimSpace(filters) + "\n"
	}
	if delivery != "" {
		doc += "  delivery:\n" + delivery
	}
	return doc
}

const ordered = "kafka.eventing.knative.dev/delivery.order: ordered"

// newEvent returns a valid event about item (its partition key; none when
// item is empty).
func newEvent(id, eventType, item string) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(eventType)
	e.SetSource("/carrot/test")
	e.SetTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if item != "" {
		e.SetExtension(events.PartitionKeyExtension, item)
	}
	if err := e.SetData(cloudevents.ApplicationJSON, map[string]string{"item": item}); err != nil {
		panic(err)
	}
	return e
}

// MustPublish posts e to the broker's ingress in binary mode and requires
// 202.
func MustPublish(tb testing.TB, ingress http.Handler, e cloudevents.Event) {
	tb.Helper()
	rec := post(tb, ingress, e, ContentModeBinary)
	require.Equal(tb, http.StatusAccepted, rec.Code, rec.Body.String())
}

// post posts e to ingress in mode (ContentModeBinary or
// ContentModeStructured) and returns the answer.
func post(tb testing.TB, ingress http.Handler, e cloudevents.Event, mode string) *httptest.ResponseRecorder {
	tb.Helper()
	rec := httptest.NewRecorder()
	ingress.ServeHTTP(rec, eventRequest(tb, e, mode))
	return rec
}

// eventRequest encodes e as a POST / in mode.
func eventRequest(tb testing.TB, e cloudevents.Event, mode string) *http.Request {
	tb.Helper()
	ctx := binding.WithForceBinary(tb.Context())
	if mode == ContentModeStructured {
		ctx = binding.WithForceStructured(tb.Context())
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	require.NoError(tb, cehttp.WriteRequest(ctx, binding.ToMessage(&e), req))
	return req
}

// MustRecords consumes topic from the start until it has n records.
func MustRecords(tb testing.TB, cluster *Cluster, topic string, n int) []*kgo.Record {
	tb.Helper()
	client, err := kgo.NewClient(
		kgo.SeedBrokers(cluster.Seeds()...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	require.NoError(tb, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var records []*kgo.Record
	for len(records) < n {
		fetches := client.PollFetches(ctx)
		require.NoError(tb, ctx.Err(), "topic %s has %d records, want %d", topic, len(records), n)
		records = append(records, fetches.Records()...)
	}
	return records
}

// MustEvents decodes records.
func MustEvents(tb testing.TB, records []*kgo.Record) []cloudevents.Event {
	tb.Helper()
	var out []cloudevents.Event
	for _, r := range records {
		e, err := eventOf(r)
		require.NoError(tb, err)
		out = append(out, e)
	}
	return out
}

// MustIdle waits until every trigger has committed every record.
func MustIdle(tb testing.TB, b *Broker) []TriggerStatus {
	tb.Helper()
	var statuses, previous []TriggerStatus
	require.Eventually(tb, func() bool {
		previous, statuses = statuses, b.Status()
		for _, s := range statuses {
			if s.Lag != 0 {
				return false
			}
		}
		// A commit can land a moment before the counters move: idle means
		// no lag and nothing changed since the previous look.
		return slices.Equal(previous, statuses)
	}, waitFor, 50*time.Millisecond, "triggers still lag: %+v", statuses)
	return statuses
}

// statusOf picks one trigger's status.
func statusOf(tb testing.TB, statuses []TriggerStatus, name string) TriggerStatus {
	tb.Helper()
	for _, s := range statuses {
		if s.Name == name {
			return s
		}
	}
	tb.Fatalf("no status for trigger %s", name)
	return TriggerStatus{}
}

// delivery is one request a fakeSubscriber received: the event, the
// request's header and when it arrived; n counts the requests so far (all
// events together) and attempt this event's, both from 1.
type delivery struct {
	event      cloudevents.Event
	header     http.Header
	at         time.Time
	n, attempt int
}

// answerFunc answers the request of delivery d.
type answerFunc func(d delivery, w http.ResponseWriter, r *http.Request)

// status answers every request with code.
func status(code int) answerFunc {
	return func(_ delivery, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// fakeSubscriber records every event it receives and answers with its
// answerFunc, 200 when it has none.
type fakeSubscriber struct {
	*httptest.Server

	mu         sync.Mutex
	answer     answerFunc
	deliveries []delivery
	attempts   map[string]int // by event id
	inFlight   int
	maxFlight  int
}

func newFakeSubscriber(tb testing.TB, answer answerFunc) *fakeSubscriber {
	tb.Helper()
	s := &fakeSubscriber{answer: answer, attempts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

// answerWith makes the subscriber answer the next requests with answer.
func (s *fakeSubscriber) answerWith(answer answerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = answer
}

func (s *fakeSubscriber) serve(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.attempts[e.ID()]++
	d := delivery{event: *e, header: r.Header.Clone(), at: time.Now(), n: len(s.deliveries) + 1, attempt: s.attempts[e.ID()]}
	s.deliveries = append(s.deliveries, d)
	answer := s.answer
	s.inFlight++
	s.maxFlight = max(s.maxFlight, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	if answer == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	answer(d, w, r)
}

// received returns what arrived so far.
func (s *fakeSubscriber) received() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.deliveries...)
}

// ids returns the ids of what arrived so far, in arrival order.
func (s *fakeSubscriber) ids() []string {
	var ids []string
	for _, d := range s.received() {
		ids = append(ids, d.event.ID())
	}
	return ids
}
