package broker

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"
	"knative.dev/eventing/pkg/eventfilter"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/logging"
)

// handle takes one record through the trigger and reports whether it is
// finished (delivered, dead-lettered, dropped or filtered out) and may be
// committed. It reports false only when ctx ended first.
func (d *dispatcher) handle(ctx context.Context, r *kgo.Record) bool {
	ctx = logging.WithLogger(ctx, d.log)
	e, err := eventOf(r)
	if err != nil {
		// It can never be delivered, and there is no event to put in a
		// dead letter: it is skipped, and committed, so that it cannot
		// block its partition.
		d.counters.dropped.Add(1)
		d.counters.fail(fmt.Errorf("record %d/%d is no CloudEvent: %w", r.Partition, r.Offset, err))
		d.log.Errorw("skipped a record that is no CloudEvent", "partition", r.Partition, "offset", r.Offset, "error", err)
		return true
	}
	if d.filter.Filter(ctx, e) == eventfilter.FailFilter {
		d.counters.filtered.Add(1)
		return true
	}
	ctx, span := startDeliverySpan(ctx, d.trigger.Name, r, e)
	result := d.poster.sendWithRetries(ctx, e, d.policy, d.subscriber)
	if result.count > 1 {
		d.counters.retried.Add(int64(result.count - 1))
	}
	if result.abandoned {
		d.log.Infow("delivery abandoned; it will be delivered again", "id", e.ID(), "type", e.Type(), "attempts", result.count)
		endDeliverySpan(span, "abandoned", result)
		return false
	}
	outcome := "delivered"
	if result.last.ok() {
		d.counters.delivered.Add(1)
		if !d.publishReply(ctx, e, result.last) {
			endDeliverySpan(span, "abandoned", result)
			return false
		}
	} else {
		d.counters.fail(fmt.Errorf("event %s: subscriber answered %s", e.ID(), describe(result.last)))
		var finished bool
		if outcome, finished = d.sendToDeadLetterSink(ctx, e, result); !finished {
			endDeliverySpan(span, "abandoned", result)
			return false
		}
	}
	endDeliverySpan(span, outcome, result)
	d.log.Infow("delivery", "id", e.ID(), "type", e.Type(), "subscriber", result.target,
		"status", describe(result.last), "attempts", result.count, "outcome", outcome, "partition", r.Partition, "offset", r.Offset)
	return true
}

// publishReply writes the event a 2xx answer carries back to the broker
// topic, as Knative sends replies to the broker. A reply that is not a
// valid event, or that Kafka refuses for good, is logged and dropped. It
// reports false only when ctx ended before Kafka acknowledged the reply.
func (d *dispatcher) publishReply(ctx context.Context, cause cloudevents.Event, a answer) bool {
	reply, err := replyOf(ctx, a)
	if err != nil {
		d.counters.fail(fmt.Errorf("reply to %s: %w", cause.ID(), err))
		d.log.Warnw("dropped an invalid reply", "id", cause.ID(), "error", err)
		return true
	}
	if reply == nil {
		return true
	}
	err = d.replies.produceUntilAcknowledged(ctx, d.topic, *reply, ContentModeStructured, d.kafkaFailed)
	if err != nil && ctx.Err() == nil {
		d.counters.fail(fmt.Errorf("reply to %s: %w", cause.ID(), err))
		d.log.Errorw("kafka refused a reply; dropped it", "id", cause.ID(), "reply", reply.ID(), "error", err)
	}
	return ctx.Err() == nil
}

// sendToDeadLetterSink hands a failed event to the dead-letter sink, or
// drops it when there is none or the sink refuses it: the record is then
// finished all the same, so that a broken sink cannot block a partition
// for ever. It reports the outcome, and false only when ctx ended first.
func (d *dispatcher) sendToDeadLetterSink(ctx context.Context, e cloudevents.Event, result attempts) (string, bool) {
	if d.deadLetter == nil {
		d.counters.dropped.Add(1)
		return "dropped: no dead-letter sink", true
	}
	ctx, span := tracer.Start(ctx, "dead-letter to "+d.deadLetter.String(), trace.WithSpanKind(trace.SpanKindProducer), eventAttributes(e))
	letter, err := withErrorExtensions(ctx, e, result.target, result.last)
	if err == nil {
		err = d.deadLetter.send(ctx, letter)
	}
	endSpan(span, err)
	switch {
	case ctx.Err() != nil:
		return "", false
	case err != nil:
		d.counters.dropped.Add(1)
		d.counters.fail(fmt.Errorf("event %s: %w", e.ID(), err))
		return "dropped: " + err.Error(), true
	}
	d.counters.deadLettered.Add(1)
	return "dead-lettered to " + d.deadLetter.String(), true
}

// kafkaFailed records a failed write to Kafka that will be tried again.
func (d *dispatcher) kafkaFailed(err error) {
	d.counters.fail(fmt.Errorf("kafka: %w", err))
	d.log.Warnw("kafka write failed; trying again", "error", err)
}

// subscriberURL returns the URL the trigger's subscriber has right now: its
// URI, or the URL resolve gives its ref's name with a relative URI
// appended, as Knative resolves a Destination.
func subscriberURL(dest duckv1.Destination, resolve func(string) (string, error)) func() (string, error) {
	return func() (string, error) {
		if dest.Ref == nil {
			if dest.URI == nil {
				return "", errors.New("destination has neither ref nor uri")
			}
			return dest.URI.String(), nil
		}
		base, err := resolve(dest.Ref.Name)
		if err != nil {
			return "", err
		}
		if dest.URI == nil {
			return base, nil
		}
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("%s resolved to %q: %w", dest.Ref.Name, base, err)
		}
		return u.ResolveReference(dest.URI.URL()).String(), nil
	}
}
