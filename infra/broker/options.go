package broker

import (
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Option configures New.
type Option func(*options)

type options struct {
	log            *zap.SugaredLogger
	httpClient     *http.Client
	maxInFlight    int
	commitInterval time.Duration
	produceTimeout time.Duration
	kafka          []kgo.Opt
}

// WithLogger sets where the broker logs, one line per delivery among
// others. The default discards everything.
func WithLogger(log *zap.SugaredLogger) Option {
	return func(o *options) { o.log = log }
}

// WithHTTPClient sets the client that delivers to subscribers and HTTP
// dead-letter sinks. Like Knative's, the default has no overall timeout:
// set delivery.timeout on a trigger, or a client timeout here, or a hung
// subscriber holds its record (and, for an ordered trigger, its
// partition) until it answers.
func WithHTTPClient(client *http.Client) Option {
	return func(o *options) { o.httpClient = client }
}

// WithMaxInFlight sets how many records of one partition an unordered
// trigger delivers at once, by default 10. Ordered triggers deliver one.
func WithMaxInFlight(n int) Option {
	return func(o *options) { o.maxInFlight = n }
}

// WithCommitInterval sets how often finished offsets are committed, by
// default every second; franz-go allows no less than 100ms. A crash
// redelivers what finished since the last commit; Close and rebalances
// commit at once.
func WithCommitInterval(d time.Duration) Option {
	return func(o *options) { o.commitInterval = d }
}

// WithProduceTimeout sets how long the ingress waits for Kafka to
// acknowledge an event before it answers 503, by default 5 seconds.
func WithProduceTimeout(d time.Duration) Option {
	return func(o *options) { o.produceTimeout = d }
}

// WithKafkaOptions adds franz-go options (TLS, SASL, client id...) to
// every Kafka client the broker makes.
func WithKafkaOptions(opts ...kgo.Opt) Option {
	return func(o *options) { o.kafka = append(o.kafka, opts...) }
}

// newTransport is http.DefaultTransport keeping enough idle connections
// for every delivery a trigger may have in flight to one subscriber.
func newTransport() *http.Transport {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 100
	return transport
}

func newOptions(opts []Option) options {
	o := options{
		log:            zap.NewNop().Sugar(),
		httpClient:     &http.Client{Transport: newTransport()},
		maxInFlight:    10,
		commitInterval: time.Second,
		produceTimeout: 5 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
