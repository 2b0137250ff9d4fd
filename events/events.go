// Package events is carrot's published language: the CloudEvents every
// function emits and consumes, their payloads, and how to build and decode
// them. It is versioned independently of the domain and imports none of it;
// golden files in testdata pin the JSON of every fact.
package events

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Type is a CloudEvents type attribute. The suffix is the payload version: a
// breaking change to a payload gets a new type, never an edited old one.
type Type string

const (
	ItemRegistered Type = "carrot.item.registered.v1"
	ItemUpdated    Type = "carrot.item.updated.v1"
	ItemDeleted    Type = "carrot.item.deleted.v1"
	ItemReserved   Type = "carrot.item.reserved.v1"
	ItemReleased   Type = "carrot.item.released.v1"
	ItemSoldOut    Type = "carrot.item.soldout.v1"
	ItemScored     Type = "carrot.item.scored.v1"

	ReservationRequested Type = "carrot.reservation.requested.v1"
	ReservationConfirmed Type = "carrot.reservation.confirmed.v1"
	ReservationDeleted   Type = "carrot.reservation.deleted.v1"
	ReservationCompleted Type = "carrot.reservation.completed.v1"
	ReservationReopened  Type = "carrot.reservation.reopened.v1"

	ChatMessagePosted Type = "carrot.chat.message.posted.v1"

	PaymentApproved  Type = "carrot.payment.approved.v1"
	PaymentCancelled Type = "carrot.payment.cancelled.v1"

	ReviewWritten Type = "carrot.review.written.v1"
)

// Extension attribute names carrot sets on every event.
const (
	// PartitionKeyExtension holds the item id, so that every event about one
	// item lands on one Kafka partition and keeps its order.
	PartitionKeyExtension = "partitionkey"
	// TraceparentExtension and TracestateExtension carry the W3C trace
	// context the event was created in (the CloudEvents distributed tracing
	// extension): the span of the command or consumer that caused it.
	TraceparentExtension = "traceparent"
	TracestateExtension  = "tracestate"
)

// payloadOf maps every type to a zero value of its payload. It is the single
// list of facts: Types, New and Decode all read it.
var payloadOf = map[Type]func() Payload{
	ItemRegistered:       func() Payload { return &Item{} },
	ItemUpdated:          func() Payload { return &Item{} },
	ItemDeleted:          func() Payload { return &Item{} },
	ItemReserved:         func() Payload { return &Item{} },
	ItemReleased:         func() Payload { return &Item{} },
	ItemSoldOut:          func() Payload { return &Item{} },
	ItemScored:           func() Payload { return &ItemScore{} },
	ReservationRequested: func() Payload { return &Reservation{} },
	ReservationConfirmed: func() Payload { return &Reservation{} },
	ReservationDeleted:   func() Payload { return &Reservation{} },
	ReservationCompleted: func() Payload { return &Reservation{} },
	ReservationReopened:  func() Payload { return &Reservation{} },
	ChatMessagePosted:    func() Payload { return &Message{} },
	PaymentApproved:      func() Payload { return &Payment{} },
	PaymentCancelled:     func() Payload { return &Payment{} },
	ReviewWritten:        func() Payload { return &Review{} },
}

// Types lists every fact carrot publishes.
func Types() []Type {
	types := make([]Type, 0, len(payloadOf))
	for t := range payloadOf {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// Payload is the data of one fact. Subject is the aggregate id the event is
// about; PartitionKey is the item id that orders it.
type Payload interface {
	Subject() string
	PartitionKey() string
	validate() error
}

// Meta is what an event needs besides its payload.
type Meta struct {
	ID     string    // unique per fact and stable across retries of that fact
	Source string    // the emitting function, e.g. "/carrot/pay"
	Time   time.Time // when the fact happened
}

// New builds the CloudEvent for one fact. The span context of ctx, if any,
// is carried in the traceparent and tracestate extensions. It fails when
// data is not the payload of typ.
func New(ctx context.Context, typ Type, meta Meta, data Payload) (cloudevents.Event, error) {
	zero, ok := payloadOf[typ]
	if !ok {
		return cloudevents.Event{}, fmt.Errorf("events: unknown type %q", typ)
	}
	if data == nil || reflect.ValueOf(data).IsNil() {
		return cloudevents.Event{}, fmt.Errorf("events: %s needs a payload", typ)
	}
	if want := fmt.Sprintf("%T", zero()); want != fmt.Sprintf("%T", data) {
		return cloudevents.Event{}, fmt.Errorf("events: %s carries %s, not %T", typ, want, data)
	}
	if err := data.validate(); err != nil {
		return cloudevents.Event{}, fmt.Errorf("events: %s: %w", typ, err)
	}
	e := cloudevents.NewEvent()
	e.SetID(meta.ID)
	e.SetType(string(typ))
	e.SetSource(meta.Source)
	e.SetSubject(data.Subject())
	e.SetTime(meta.Time.UTC())
	e.SetExtension(PartitionKeyExtension, data.PartitionKey())
	for name, value := range traceContextOf(ctx) {
		e.SetExtension(name, value)
	}
	if err := e.SetData(cloudevents.ApplicationJSON, data); err != nil {
		return cloudevents.Event{}, fmt.Errorf("events: encode %s: %w", typ, err)
	}
	if err := e.Validate(); err != nil {
		return cloudevents.Event{}, fmt.Errorf("events: %s: %w", typ, err)
	}
	return e, nil
}

// Decode returns the typed payload of e (a pointer such as *Item). An error
// means the event can never be processed: an unknown type, data that is not
// its payload, or a payload that breaks its own rules. Callers treat it as
// a poison event.
func Decode(e cloudevents.Event) (Payload, error) {
	zero, ok := payloadOf[Type(e.Type())]
	if !ok {
		return nil, fmt.Errorf("unknown event type %q", e.Type())
	}
	data := zero()
	if err := e.DataAs(data); err != nil {
		return nil, fmt.Errorf("%s data: %w", e.Type(), err)
	}
	if err := data.validate(); err != nil {
		return nil, fmt.Errorf("%s data: %w", e.Type(), err)
	}
	return data, nil
}

// NewID returns a fresh, time-ordered event id.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// DerivedID returns the id of the fact of type typ that the consumer whose
// source is source emits in reaction to cause. It is the same on every
// redelivery of cause, so a consumer that crashes after its write and runs
// again emits the same id; two consumers reacting to one cause never share
// an id.
func DerivedID(cause cloudevents.Event, source string, typ Type) string {
	return uuid.NewSHA1(idNamespace, []byte(cause.Source()+"\x00"+cause.ID()+"\x00"+source+"\x00"+string(typ))).String()
}

var idNamespace = uuid.MustParse("6f0b5f3e-5b8e-4c57-9a59-0e6b7d3c2a11")

// traceContext is W3C Trace Context, the format of the CloudEvents
// distributed tracing extension; its propagator parses and writes it.
var traceContext propagation.TraceContext

// traceContextOf returns the traceparent and tracestate of the span
// context of ctx, none when it has no valid one.
func traceContextOf(ctx context.Context) propagation.MapCarrier {
	carrier := propagation.MapCarrier{}
	traceContext.Inject(ctx, carrier)
	return carrier
}

// WithTraceparent returns ctx carrying the span context a W3C traceparent
// value names, as the remote parent of what starts from ctx. A malformed
// or empty value leaves ctx as it is, as the W3C spec asks.
func WithTraceparent(ctx context.Context, traceparent string) context.Context {
	return withTraceContext(ctx, propagation.MapCarrier{TraceparentExtension: traceparent})
}

// Traceparent returns the W3C traceparent of the span context of ctx, or
// "" when it has none.
func Traceparent(ctx context.Context) string {
	return traceContextOf(ctx)[TraceparentExtension]
}

// ContextOf returns ctx carrying the span context e was created in, from
// its traceparent and tracestate extensions, as the remote parent of what
// starts from ctx. Without a valid traceparent it returns ctx as it is.
func ContextOf(ctx context.Context, e cloudevents.Event) context.Context {
	carrier := propagation.MapCarrier{}
	for _, name := range []string{TraceparentExtension, TracestateExtension} {
		if v, ok := e.Extensions()[name].(string); ok {
			carrier[name] = v
		}
	}
	return withTraceContext(ctx, carrier)
}

func withTraceContext(ctx context.Context, carrier propagation.MapCarrier) context.Context {
	parent := trace.SpanContextFromContext(traceContext.Extract(context.Background(), carrier))
	if !parent.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, parent)
}
