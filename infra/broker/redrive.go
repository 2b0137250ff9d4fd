package broker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Defaults of a Redrive.
const (
	// DefaultDeadLetterTopic is the topic of carrot's dead-letter KafkaSink.
	DefaultDeadLetterTopic = "carrot-dead-letters"
	// DefaultRedriveGroup is the consumer group whose committed offsets
	// remember how far the dead letters were re-driven.
	DefaultRedriveGroup = "carrot-redrive"
	// errorExtensionPrefix starts the extensions Knative adds to a dead
	// letter: knativeerrordest, knativeerrorcode, knativeerrordata.
	errorExtensionPrefix = "knativeerror"
)

// RedriveConfig says where the dead letters are and where they go back to.
type RedriveConfig struct {
	// Seeds are the Kafka bootstrap servers that hold Topic. Required.
	Seeds []string
	// Ingress is the broker's address, where every dead letter is sent
	// again, e.g. http://127.0.0.1:8089/broker/default/carrot locally or
	// http://kafka-broker-ingress.knative-eventing.svc.cluster.local/carrot/carrot.
	// Required.
	Ingress string
	// Topic is the dead-letter topic; default DefaultDeadLetterTopic.
	Topic string
	// Group remembers, by committed offsets, what was re-driven; default
	// DefaultRedriveGroup.
	Group string
	// GiveUpAfter bounds how long one dead letter is offered to an ingress
	// that answers 5xx or nothing before Redrive stops; default 1 minute.
	GiveUpAfter time.Duration
	HTTPClient  *http.Client // default: 30 s per request
	Log         *zap.SugaredLogger
	Kafka       []kgo.Opt // TLS, SASL... for a cluster's Kafka
}

func (c *RedriveConfig) setDefaults() {
	if c.Topic == "" {
		c.Topic = DefaultDeadLetterTopic
	}
	if c.Group == "" {
		c.Group = DefaultRedriveGroup
	}
	if c.GiveUpAfter <= 0 {
		c.GiveUpAfter = time.Minute
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Log == nil {
		c.Log = zap.NewNop().Sugar()
	}
}

// RedriveResult is what one Redrive did.
type RedriveResult struct {
	// Redriven counts the dead letters the ingress accepted again.
	Redriven int `json:"redriven"`
	// ByDestination counts them by the subscriber that had failed them
	// (knativeerrordest), which names the trigger.
	ByDestination map[string]int `json:"byDestination"`
	// Refused counts the dead letters the ingress refused for good (4xx)
	// and Unreadable the records that are no CloudEvent: both are passed
	// over, as sending them again cannot help.
	Refused    int `json:"refused"`
	Unreadable int `json:"unreadable"`
}

// Redrive sends every dead letter not re-driven before back to the broker
// ingress, without its knativeerror* extensions and with its id, so the
// broker routes it through the triggers again and the trigger that failed
// it, its subscriber fixed, applies it. The other triggers' subscribers
// see a duplicate, which they ignore: every consumer is idempotent.
//
// It reads c.Topic from c.Group's committed offsets up to the end offsets
// it finds when it starts, and commits each dead letter once the ingress
// accepted it, so running it again re-drives nothing twice (a crash
// between the send and the commit re-drives one letter again: at least
// once, which consumers accept). A dead letter that fails again is
// dead-lettered again, at a later offset, and a later Redrive takes it.
// Redrive stops at the first letter the ingress does not take within
// GiveUpAfter, and returns what it did with the error.
func Redrive(ctx context.Context, c RedriveConfig) (RedriveResult, error) {
	c.setDefaults()
	result := RedriveResult{ByDestination: map[string]int{}}
	if len(c.Seeds) == 0 || c.Ingress == "" {
		return result, errors.New("redrive: Kafka seeds and the broker ingress are required")
	}
	client, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Seeds...)}, c.Kafka...)...)
	if err != nil {
		return result, fmt.Errorf("redrive: kafka client: %w", err)
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	todo, err := uncommitted(ctx, admin, c.Topic, c.Group)
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return result, nil // no dead letter yet
	}
	if err != nil {
		return result, fmt.Errorf("redrive: %w", err)
	}
	if len(todo) == 0 {
		return result, nil
	}
	r := redriver{cfg: c, admin: admin, result: &result, poster: poster{client: c.HTTPClient}}
	err = r.run(ctx, todo)
	return result, err
}

// offsetRange is a partition's records from (inclusive) to end (exclusive).
type offsetRange struct{ from, end int64 }

// uncommitted returns, per partition of topic, the records group has not
// committed yet, up to the end as of now: from its committed offset, or
// from the log start where it committed none.
func uncommitted(ctx context.Context, admin *kadm.Client, topic, group string) (map[int32]offsetRange, error) {
	ends, err := admin.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	starts, err := admin.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("start offsets of %s: %w", topic, err)
	}
	committed, err := admin.FetchOffsets(ctx, group)
	if err == nil {
		err = committed.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		// The first redrive: Kafka answers so (kfake does), or with no
		// offsets.
		committed, err = kadm.OffsetResponses{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("offsets of group %s: %w", group, err)
	}
	todo := map[int32]offsetRange{}
	ends.Each(func(end kadm.ListedOffset) {
		from := int64(0)
		if start, ok := starts.Lookup(topic, end.Partition); ok {
			from = start.Offset
		}
		if done, ok := committed.Lookup(topic, end.Partition); ok && done.At > from {
			from = done.At
		}
		if from < end.Offset {
			todo[end.Partition] = offsetRange{from: from, end: end.Offset}
		}
	})
	return todo, nil
}

// redriver is one Redrive run.
type redriver struct {
	cfg    RedriveConfig
	admin  *kadm.Client
	poster poster
	result *RedriveResult
}

// run reads the ranges of todo and re-drives each record in partition
// order, committing as it goes.
func (r *redriver) run(ctx context.Context, todo map[int32]offsetRange) error {
	partitions := map[int32]kgo.Offset{}
	for p, rng := range todo {
		partitions[p] = kgo.NewOffset().At(rng.from)
	}
	consumer, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(r.cfg.Seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{r.cfg.Topic: partitions}),
	}, r.cfg.Kafka...)...)
	if err != nil {
		return fmt.Errorf("redrive: kafka consumer: %w", err)
	}
	defer consumer.Close()
	for len(todo) > 0 {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fetchErr error
		fetches.EachError(func(topic string, p int32, err error) {
			fetchErr = errors.Join(fetchErr, fmt.Errorf("%s[%d]: %w", topic, p, err))
		})
		if fetchErr != nil {
			return fmt.Errorf("redrive: read dead letters: %w", fetchErr)
		}
		var stop error
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, rec := range p.Records {
				rng, ok := todo[rec.Partition]
				if stop != nil || !ok || rec.Offset < rng.from || rec.Offset >= rng.end {
					continue
				}
				if stop = r.one(ctx, rec); stop != nil {
					return
				}
				if stop = r.commit(ctx, rec); stop != nil {
					return
				}
				if rec.Offset+1 >= rng.end {
					delete(todo, rec.Partition)
				}
			}
		})
		if stop != nil {
			return stop
		}
	}
	return nil
}

// one re-drives a record, or passes over one that cannot be.
func (r *redriver) one(ctx context.Context, rec *kgo.Record) error {
	letter, err := eventOf(rec)
	if err != nil {
		r.result.Unreadable++
		r.cfg.Log.Warnw("passed over a dead letter that is no CloudEvent", "partition", rec.Partition, "offset", rec.Offset, "error", err)
		return nil
	}
	dest := fmt.Sprint(letter.Extensions()[errorExtensionPrefix+"dest"])
	event := withoutErrorExtensions(letter)
	ctx, span := startRedriveSpan(ctx, rec, event)
	a, err := r.send(ctx, event)
	if err == nil && !a.ok() {
		endSpan(span, fmt.Errorf("the ingress answered %s", describe(a)))
	} else {
		endSpan(span, err)
	}
	if err != nil {
		return err
	}
	if !a.ok() {
		r.result.Refused++
		r.cfg.Log.Errorw("the ingress refused a dead letter for good; passed over", "id", event.ID(), "type", event.Type(), "status", describe(a))
		return nil
	}
	r.result.Redriven++
	r.result.ByDestination[dest]++
	r.cfg.Log.Infow("re-drove a dead letter", "id", event.ID(), "type", event.Type(), "failed at", dest,
		"code", letter.Extensions()[errorExtensionPrefix+"code"], "partition", rec.Partition, "offset", rec.Offset)
	return nil
}

// send offers e to the ingress until it answers 2xx or a 4xx other than
// 404, 408 and 429, backing off from 200 ms to 5 s, for GiveUpAfter at
// most.
func (r *redriver) send(ctx context.Context, e cloudevents.Event) (answer, error) {
	deadline := time.Now().Add(r.cfg.GiveUpAfter)
	wait := 200 * time.Millisecond
	for {
		a := r.poster.post(ctx, r.cfg.Ingress, e, 0)
		if a.ok() || (a.status >= 400 && a.status < 500 && a.status != http.StatusNotFound &&
			a.status != http.StatusRequestTimeout && a.status != http.StatusTooManyRequests) {
			return a, nil
		}
		if time.Now().Add(wait).After(deadline) {
			return a, fmt.Errorf("redrive: the broker ingress %s did not take event %s: %s", r.cfg.Ingress, e.ID(), describe(a))
		}
		if !sleep(ctx, wait) {
			return a, ctx.Err()
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// commit remembers that rec is done.
func (r *redriver) commit(ctx context.Context, rec *kgo.Record) error {
	offsets := kadm.Offsets{}
	offsets.AddOffset(rec.Topic, rec.Partition, rec.Offset+1, -1)
	committed, err := r.admin.CommitOffsets(ctx, r.cfg.Group, offsets)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return fmt.Errorf("redrive: commit %s[%d]@%d for group %s: %w", rec.Topic, rec.Partition, rec.Offset, r.cfg.Group, err)
	}
	return nil
}

// withoutErrorExtensions returns e without the knativeerror* extensions,
// so that a letter that fails again carries only its new failure.
func withoutErrorExtensions(e cloudevents.Event) cloudevents.Event {
	out := e.Clone()
	for name := range e.Extensions() {
		if strings.HasPrefix(name, errorExtensionPrefix) {
			out.SetExtension(name, nil)
		}
	}
	return out
}
