package apptest

import (
	"context"
	"sync"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
)

// Broker stands in for the broker and its triggers where use cases and
// consumers are tested together, over any store. It is the Publisher of
// every Service under test and keeps what they publish, in order; Deliver
// hands it to the consumers that take it, as the triggers would. It may be
// called concurrently.
type Broker struct {
	mu        sync.Mutex
	published []cloudevents.Event
	handed    int // how many of published Deliver or Take handed out
	triggers  []trigger
}

// trigger is one consumer that Deliver hands events to.
type trigger struct {
	svc      *app.Service
	consumer app.Consumer
}

// Publish keeps evs for Deliver.
func (b *Broker) Publish(_ context.Context, evs []cloudevents.Event) {
	b.mu.Lock()
	b.published = append(b.published, evs...)
	b.mu.Unlock()
}

// Subscribe makes Deliver hand svc every event that c takes. Consumers get
// an event in the order they subscribed.
func (b *Broker) Subscribe(svc *app.Service, c app.Consumer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.triggers = append(b.triggers, trigger{svc, c})
}

// Take returns the events published since Deliver or Take last ran and
// marks them handed out: Deliver never hands them to a consumer, as if a
// trigger had lost them, unless the caller does.
func (b *Broker) Take() []cloudevents.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	evs := b.published[b.handed:]
	b.handed = len(b.published)
	return evs
}

// Deliver hands every event not yet handed out to each consumer that takes
// it, in publishing order, until no consumer publishes anything new. A
// consumer's error fails t.
func (b *Broker) Deliver(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	triggers := b.triggers
	b.mu.Unlock()
	for evs := b.Take(); len(evs) > 0; evs = b.Take() {
		for _, e := range evs {
			for _, tr := range triggers {
				if _, ok := tr.consumer[events.Type(e.Type())]; ok {
					err := tr.svc.Handler(tr.consumer)(context.Background(), e)
					require.NoError(t, err, "%s handling %s", tr.svc.Source, e.Type())
				}
			}
		}
	}
}

// Published returns every event published so far, in order.
func (b *Broker) Published() []cloudevents.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.published[:len(b.published):len(b.published)]
}

// Types returns the type of every event published so far, in order.
func (b *Broker) Types() []events.Type {
	var ts []events.Type
	for _, e := range b.Published() {
		ts = append(ts, events.Type(e.Type()))
	}
	return ts
}

// Count returns how many events of typ were published so far.
func (b *Broker) Count(typ events.Type) int {
	n := 0
	for _, e := range b.Published() {
		if e.Type() == string(typ) {
			n++
		}
	}
	return n
}
