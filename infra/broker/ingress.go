package broker

import (
	"context"
	"errors"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/carrot-market/carrot/infra/web"
)

// Ingress is the broker's address, what functions get as K_SINK. It takes
// a CloudEvent in binary or structured mode by POST on / (or on
// /<namespace>/<broker>, the path of Knative's Kafka broker ingress) and
// answers:
//   - 202 once Kafka has acknowledged the event on the broker topic, so an
//     accepted event is never lost;
//   - 400 for a request that is not a valid CloudEvent;
//   - 503 with Retry-After when Kafka does not acknowledge in time (the
//     caller keeps the event, e.g. in its outbox, and sends it again),
//     and at once while Kafka is unreachable (KafkaReachable), so senders
//     fail fast rather than after the produce timeout. An event answered
//     503 may still reach Kafka later: senders resend it with the same id
//     and consumers deduplicate, as at-least-once delivery requires;
//   - 413 for an event larger than Kafka takes, 500 when Kafka refuses it
//     for another reason that sending again cannot cure;
//   - 404 for another path, 405 for another method.
//
// Answers other than 202 are problem+json.
func (b *Broker) Ingress() http.Handler {
	return http.HandlerFunc(b.serveIngress)
}

func (b *Broker) serveIngress(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && r.URL.Path != "/"+b.cfg.Broker.Namespace+"/"+b.cfg.Broker.Name {
		web.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		web.MethodNotAllowed(w, r)
		return
	}
	message := cehttp.NewMessageFromHttpRequest(r)
	defer message.Finish(nil)
	event, err := binding.ToEvent(r.Context(), message)
	if err == nil {
		err = event.Validate()
	}
	if err != nil {
		web.WriteProblem(w, web.NewProblem(http.StatusBadRequest, "not a valid CloudEvent: "+err.Error()))
		return
	}
	ctx, span := startIngressSpan(r, *event)
	reachable, lost := b.health.state()
	if !reachable {
		endSpan(span, errKafkaUnreachable)
		web.WriteProblem(w, web.NewProblem(http.StatusServiceUnavailable, "the broker cannot reach Kafka; send the event again later"))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.produceTimeout)
	defer cancel()
	err = b.producer.produceUnless(ctx, lost, b.cfg.Broker.Topic, *event, ContentModeStructured)
	endSpan(span, err)
	if err != nil {
		b.opts.log.Warnw("ingress could not write to kafka", "id", event.ID(), "type", event.Type(), "error", err)
		web.WriteProblem(w, produceProblem(err))
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// errKafkaUnreachable is why the ingress refused an event at once.
var errKafkaUnreachable = errors.New("the broker cannot reach Kafka")

// produceProblem tells the sender whether sending the event again can
// help: only when Kafka failed for a while (503), not when it refused the
// event for good.
func produceProblem(err error) web.Problem {
	switch {
	case errors.Is(err, kerr.MessageTooLarge):
		return web.NewProblem(http.StatusRequestEntityTooLarge, "the event is larger than Kafka accepts")
	case permanent(err):
		return web.NewProblem(http.StatusInternalServerError, "Kafka refused the event: "+err.Error())
	}
	return web.NewProblem(http.StatusServiceUnavailable, "the broker cannot reach Kafka; send the event again later")
}
