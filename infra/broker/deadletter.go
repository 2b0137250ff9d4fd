package broker

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"knative.dev/eventing/pkg/kncloudevents"
	"knative.dev/eventing/pkg/kncloudevents/attributes"
)

// deadLetterSink receives the events a trigger could not deliver.
type deadLetterSink interface {
	// send returns nil once the sink has the event, or an error when it
	// refused it after its own retries. It returns ctx's error when ctx
	// ended first.
	send(ctx context.Context, e cloudevents.Event) error
	String() string
}

// kafkaDeadLetters is a KafkaSink: dead letters are written to its topic,
// and writing is retried until Kafka acknowledges.
type kafkaDeadLetters struct {
	sink     KafkaSink
	producer producer
	onError  func(error)
}

func (k kafkaDeadLetters) send(ctx context.Context, e cloudevents.Event) error {
	return k.producer.produceUntilAcknowledged(ctx, k.sink.Topic, e, k.sink.ContentMode, k.onError)
}

func (k kafkaDeadLetters) String() string { return "KafkaSink " + k.sink.Name }

// httpDeadLetters is any other dead-letter sink: a URI, or a ref the
// runtime resolves. It is posted to in binary mode with the trigger's own
// retry policy, as Knative's dispatcher does.
type httpDeadLetters struct {
	target func() (string, error)
	poster poster
	policy kncloudevents.RetryConfig
	name   string
}

func (h httpDeadLetters) send(ctx context.Context, e cloudevents.Event) error {
	result := h.poster.sendWithRetries(ctx, e, h.policy, h.target)
	switch {
	case result.abandoned:
		return ctx.Err()
	case !result.last.ok():
		return fmt.Errorf("dead-letter sink %s answered %s", h.name, describe(result.last))
	}
	return nil
}

func (h httpDeadLetters) String() string { return h.name }

// withErrorExtensions returns e with the extensions Knative sets on a dead
// letter: knativeerrordest (the URL that failed), knativeerrorcode (its
// last status, 500 when it never answered) and knativeerrordata (the base64
// of its answer, cut to Knative's 1 KiB by KnativeErrorTransformers).
func withErrorExtensions(ctx context.Context, e cloudevents.Event, destination string, last answer) (cloudevents.Event, error) {
	code, body := last.status, last.body
	if code == noResponse {
		code, body = 500, []byte(fmt.Sprintf("dispatch error: %v", last.err))
	}
	dest, err := url.Parse(destination)
	if err != nil {
		dest = &url.URL{}
	}
	transformers := attributes.KnativeErrorTransformers(*dest, code, base64.StdEncoding.EncodeToString(body))
	out, err := binding.ToEvent(ctx, binding.ToMessage(&e), transformers...)
	if err != nil {
		return e, fmt.Errorf("add error extensions: %w", err)
	}
	return *out, nil
}

// describe says what an answer was, for logs and errors.
func describe(a answer) string {
	if a.status == noResponse {
		return fmt.Sprintf("nothing (%v)", a.err)
	}
	return fmt.Sprintf("%d", a.status)
}
