package main

// Measurement 5: events per second through the broker's ingress, Kafka and
// a trigger's dispatcher to a subscriber that does nothing, beside raw
// franz-go produce and consume of as many records on the same cluster.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/carrot-market/carrot/infra/broker"
)

type brokerResult struct {
	Carrot, Raw float64 // events per second
	// Ingress is how fast the ingress accepted the events (202 once in
	// Kafka), before the dispatcher had delivered them all.
	Ingress float64
	// HTTP is plain POSTs of the same events straight to the no-op
	// subscriber, as many at once: the loopback HTTP ceiling. The broker
	// makes two such requests per event (ingress and delivery).
	HTTP    float64
	N       int
	Ordered bool
}

func measureBroker(ctx context.Context, root string, n int, ordered bool) (brokerResult, error) {
	res := brokerResult{N: n, Ordered: ordered}
	cluster, err := broker.StartCluster("127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer cluster.Close()
	cfg, err := broker.LoadConfig(filepath.Join(root, "knative", "eventing"))
	if err != nil {
		return res, err
	}
	// One trigger, taking everything, to a subscriber that answers 202;
	// the broker's own delivery settings stay.
	tr := cfg.Triggers[0]
	tr.Name, tr.Filters, tr.Filter, tr.Ordered = "bench-noop", nil, nil, ordered
	tr.Subscriber = duckv1.Destination{Ref: &duckv1.KReference{Kind: "Service", APIVersion: "serving.knative.dev/v1", Name: "noop"}}
	cfg.Triggers = []broker.TriggerConfig{tr}

	var got atomic.Int64
	all := make(chan struct{})
	noop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got.Add(1) == int64(n) {
			close(all)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer noop.Close()
	b, err := broker.New(cfg, cluster.Seeds(), func(string) (string, error) { return noop.URL, nil }, broker.WithLogger(zap.NewNop().Sugar()))
	if err != nil {
		return res, err
	}
	defer b.Close()
	ingress := httptest.NewServer(b.Ingress())
	defer ingress.Close()

	reqs := make([]request, n)
	for i := range reqs {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("Ce-Specversion", "1.0")
		h.Set("Ce-Id", "bench-"+strconv.Itoa(i))
		h.Set("Ce-Source", "/bench")
		h.Set("Ce-Type", "carrot.item.registered.v1")
		h.Set("Ce-Partitionkey", "item-"+strconv.Itoa(i%1000))
		reqs[i] = request{Method: http.MethodPost, URL: ingress.URL, Header: h, Body: []byte(`{"itemId":"item","name":"tv","price":30000}`)}
	}
	progress(fmt.Sprintf("5 broker: %d events through ingress, Kafka and dispatcher (ordered=%v)", n, ordered))
	start := time.Now()
	as, accepted := attack("broker", reqs, 64, 0)
	res.Ingress = float64(n) / accepted.Seconds()
	for _, a := range as {
		if a.Code != http.StatusAccepted {
			return res, fmt.Errorf("broker ingress answered %d: %s %s", a.Code, a.Body, a.Err)
		}
	}
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		return res, fmt.Errorf("broker: %d of %d events delivered in 2 minutes", got.Load(), n)
	}
	res.Carrot = float64(n) / time.Since(start).Seconds()

	progress("5 broker: plain HTTP to the no-op subscriber")
	direct := make([]request, len(reqs))
	for i, r := range reqs {
		r.URL = noop.URL
		direct[i] = r
	}
	_, wall := attack("http", direct, 64, 0)
	res.HTTP = float64(n) / wall.Seconds()

	progress("5 broker: raw franz-go produce and consume")
	raw, err := rawKafka(ctx, cluster.Seeds(), reqs)
	if err != nil {
		return res, err
	}
	res.Raw = raw
	return res, nil
}

// rawKafka produces the events' records (same key, headers and value) to
// a topic of its own and consumes them in a consumer group, and returns
// records per second from the first produce to the last consumed.
func rawKafka(ctx context.Context, seeds []string, reqs []request) (float64, error) {
	topic := "bench-raw"
	consumer, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumerGroup("bench-raw"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation())
	if err != nil {
		return 0, err
	}
	defer consumer.Close()
	producer, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return 0, err
	}
	defer producer.Close()
	// Create the topic and let the group join before the clock starts.
	if err := producer.ProduceSync(ctx, &kgo.Record{Key: []byte("warm"), Value: []byte("warm")}).FirstErr(); err != nil {
		return 0, err
	}
	warm, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for seen := false; !seen; {
		fs := consumer.PollFetches(warm)
		if warm.Err() != nil {
			return 0, fmt.Errorf("raw kafka: the consumer saw nothing")
		}
		seen = fs.NumRecords() > 0
	}
	start := time.Now()
	for _, r := range reqs {
		rec := &kgo.Record{Key: []byte(r.Header.Get("Ce-Partitionkey")), Value: r.Body}
		for k, v := range r.Header {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: "ce_" + k, Value: []byte(v[0])})
		}
		producer.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				warnf("raw produce: %v", err)
			}
		})
	}
	got := 0
	deadline, cancel2 := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel2()
	for got < len(reqs) {
		fs := consumer.PollFetches(deadline)
		if deadline.Err() != nil {
			return 0, fmt.Errorf("raw kafka: consumed %d of %d", got, len(reqs))
		}
		got += fs.NumRecords()
	}
	consumer.CommitUncommittedOffsets(ctx)
	return float64(len(reqs)) / time.Since(start).Seconds(), nil
}
