package boottest

import (
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
)

// Events returns every event published so far, in order of arrival.
func (s *System) Events() []cloudevents.Event {
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	return append([]cloudevents.Event(nil), s.sink.log...)
}

// EventsOf returns the published events of type t.
func (s *System) EventsOf(t events.Type) []cloudevents.Event {
	var out []cloudevents.Event
	for _, e := range s.Events() {
		if e.Type() == string(t) {
			out = append(out, e)
		}
	}
	return out
}

// Deliver posts e to the function called name, as its trigger would, in
// binary mode, and returns the status it answered. It requires an answer,
// so call it from the test's goroutine; elsewhere use SendEvent.
func (s *System) Deliver(tb testing.TB, name string, e cloudevents.Event) int {
	tb.Helper()
	status, err := post(context.Background(), s.URL[name], e)
	require.NoError(tb, err)
	return status
}

// EventsAbout returns the published events about itemID (those whose
// partition key is itemID) of type typ, or of every type when typ is "",
// in order of arrival.
func (s *System) EventsAbout(typ events.Type, itemID string) []cloudevents.Event {
	var out []cloudevents.Event
	for _, e := range s.Events() {
		if e.Extensions()[events.PartitionKeyExtension] == itemID && (typ == "" || e.Type() == string(typ)) {
			out = append(out, e)
		}
	}
	return out
}

// Payloads returns the payloads of the published events of type typ, in
// order of arrival, each decoded as a consumer decodes it (events.Decode).
// It requires that every one decodes, to a T.
func Payloads[T events.Payload](tb testing.TB, s *System, typ events.Type) []T {
	tb.Helper()
	var out []T
	for _, e := range s.EventsOf(typ) {
		p, err := events.Decode(e)
		require.NoError(tb, err, "%s %s", e.Type(), e.ID())
		v, ok := p.(T)
		require.True(tb, ok, "%s %s carries a %T", e.Type(), e.ID(), p)
		out = append(out, v)
	}
	return out
}

// CountEventsAbout counts the published events about itemID of type typ,
// or of every type when typ is "".
func (s *System) CountEventsAbout(typ events.Type, itemID string) int {
	return len(s.EventsAbout(typ, itemID))
}

// SendEvent is Deliver for any goroutine: it never fails the test and
// returns what went wrong instead. The answer holds the status only.
func (s *System) SendEvent(name string, e cloudevents.Event) (Response, error) {
	status, err := post(context.Background(), s.URL[name], e)
	return Response{Status: status}, err
}

// DeliverRaw posts body with contentType to the function called name, as
// a sender that does not speak CloudEvents would, and returns the status
// it answered. It requires an answer, so call it from the test's goroutine.
func (s *System) DeliverRaw(tb testing.TB, name, contentType, body string) int {
	tb.Helper()
	res, err := Send(http.MethodPost, s.URL[name], body, "Content-Type", contentType)
	require.NoError(tb, err)
	return res.Status
}

// Fact builds a new, valid fact of type typ from the source /carrot/test,
// as the function that owns it would. It requires that the events package
// accepts data.
func Fact(tb testing.TB, typ events.Type, data events.Payload) cloudevents.Event {
	tb.Helper()
	e, err := events.New(context.Background(), typ, events.Meta{ID: events.NewID(), Source: "/carrot/test", Time: time.Now()}, data)
	require.NoError(tb, err)
	return e
}

// RawEvent builds a CloudEvent of any type around any JSON data, from the
// source /carrot/test, bypassing the rules of the events package: for
// events a consumer must refuse. It requires a valid CloudEvent.
func RawEvent(tb testing.TB, typ string, data any) cloudevents.Event {
	tb.Helper()
	e := cloudevents.NewEvent()
	e.SetID(events.NewID())
	e.SetType(typ)
	e.SetSource("/carrot/test")
	require.NoError(tb, e.SetData(cloudevents.ApplicationJSON, data))
	require.NoError(tb, e.Validate())
	return e
}

// CopyWith returns a copy of m with k set to v, or without k when v is
// nil, to build data that breaks one rule. m is not changed.
func CopyWith(m map[string]any, k string, v any) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}
