package edge

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/web"
)

// MaxEventBytes is the largest CloudEvent the edge reads: Kafka's default
// message size, far above any carrot event.
const MaxEventBytes = 1 << 20

// Events returns the HTTP edge of a Knative trigger: it reads one
// CloudEvent, in binary or structured mode, validates it, and calls handle
// with a context carrying a consumer span of the event (tracing.go) and a
// logger naming the event. handle must be idempotent: delivery is at least
// once.
//
// The answer follows the Knative retry contract, which retries 404, 409,
// 429 and 5xx and dead-letters other 4xx:
//
//	handle returns                                  answer  meaning
//	nil, app.ErrDuplicate                           200     done
//	market not_found, conflict, forbidden           200     ignored: a stale event is done; logged
//	a request that is not one valid CloudEvent,     400     poison: never retried, dead-lettered
//	  a batch, an event over MaxEventBytes,
//	  market invalid, market unauthorized
//	app.ErrStale (a race lost on every attempt),    503     transient: the broker retries
//	  market unavailable
//	market internal, any other error                500     the broker retries
//
// A business conflict never answers 409, since the broker would retry it.
// Every event is counted in carrot.events.handled by type and outcome.
// A 2xx has an empty body; other answers carry a problem whose detail, for
// a 5xx, hides the error text, which is logged.
func Events(handle func(context.Context, cloudevents.Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			web.MethodNotAllowed(w, r)
			return
		}
		ev, err := readEvent(r)
		if err != nil {
			web.Log(r.Context()).Warnw("poison event rejected", "error", err)
			countEvent(r.Context(), "", "poison")
			web.WriteProblem(w, web.NewProblem(http.StatusBadRequest, err.Error()))
			return
		}
		ctx, span := startConsumerSpan(r, *ev)
		defer span.End()
		log := web.Log(ctx).With("ce-id", ev.ID(), "ce-type", ev.Type(), "ce-source", ev.Source(), "ce-subject", ev.Subject())
		ctx = web.WithLogger(ctx, log)

		err = handle(ctx, *ev)
		status, outcome := eventOutcome(err)
		endConsumerSpan(span, status, outcome, err)
		countEvent(ctx, ev.Type(), outcome)
		switch {
		case status == http.StatusOK && err == nil:
			w.WriteHeader(status)
		case status == http.StatusOK:
			log.Infow("event "+outcome, "reason", err.Error())
			w.WriteHeader(status)
		case status == http.StatusBadRequest:
			log.Warnw("poison event dead-lettered", "error", err)
			web.WriteProblem(w, web.NewProblem(status, err.Error()))
		default:
			log.Errorw("event failed; the broker will retry it", "error", err, "status", status)
			web.WriteProblem(w, web.NewProblem(status, web.InternalDetail))
		}
	})
}

// readEvent decodes and validates the one event of r. Its errors are all
// poison; their text is the SDK's, meant for whoever reads the dead letters.
func readEvent(r *http.Request) (*cloudevents.Event, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == cloudevents.ApplicationCloudEventsBatchJSON {
		return nil, errors.New("batched CloudEvents are not accepted; send one event per request")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, MaxEventBytes)
	ev, err := cehttp.NewEventFromHTTPRequest(r)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("the event exceeds %d bytes", MaxEventBytes)
	case err != nil:
		return nil, fmt.Errorf("not a CloudEvent: %w", err)
	case ev == nil:
		return nil, errors.New("not a CloudEvent: the request is empty")
	}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("invalid CloudEvent: %w", err)
	}
	return ev, nil
}

// eventOutcome is the one table that turns a handler's error into the
// answer the broker reads; see Events.
func eventOutcome(err error) (int, string) {
	switch {
	case err == nil:
		return http.StatusOK, "handled"
	case errors.Is(err, app.ErrDuplicate):
		return http.StatusOK, "duplicate acknowledged"
	case errors.Is(err, app.ErrStale):
		return http.StatusServiceUnavailable, "retry"
	}
	switch market.ErrorCode(err) {
	case market.Invalid, market.Unauthorized:
		return http.StatusBadRequest, "poison"
	case market.NotFound, market.Conflict, market.Forbidden:
		return http.StatusOK, "ignored"
	case market.Unavailable:
		return http.StatusServiceUnavailable, "retry"
	default:
		return http.StatusInternalServerError, "retry"
	}
}
