package app

import (
	"context"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/events"
)

// Service runs carrot's use cases for one function. It is safe for
// concurrent use; every method is one use case.
type Service struct {
	Store     Store
	Views     ViewStore // used by the MyPage projector and queries only
	Publisher Publisher
	// Source is the CloudEvents source of the events this function emits,
	// e.g. "/carrot/pay".
	Source string
	Now    func() time.Time
	NewID  func() string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return events.NewID()
}

// update runs change as one unit of work and, once it is durable, hands
// the events it published to the Publisher. An event that cannot be sent
// now stays in the outbox for the relay, so a committed command never
// fails.
func (s *Service) update(ctx context.Context, change func(Tx) error) error {
	published, err := s.Store.Update(ctx, change)
	if err != nil {
		return err
	}
	if len(published) > 0 && s.Publisher != nil {
		s.Publisher.Publish(ctx, published)
	}
	return nil
}

// produce runs change as a unit of work (update) and returns what its
// committed attempt produced.
func produce[T any](ctx context.Context, s *Service, change func(Tx) (T, error)) (T, error) {
	var out T
	err := s.update(ctx, func(tx Tx) (err error) {
		out, err = change(tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// publish writes a new fact of a command to the outbox of tx.
func (s *Service) publish(ctx context.Context, tx Tx, typ events.Type, data events.Payload) error {
	e, err := events.New(ctx, typ, events.Meta{ID: s.newID(), Source: s.Source, Time: s.now()}, data)
	if err != nil {
		return err
	}
	tx.Publish(e)
	return nil
}

// react writes a fact a policy emits because of cause, and marks cause
// handled in the same transaction. The fact's id derives from the cause,
// so a redelivery would emit the very same fact.
func (s *Service) react(ctx context.Context, tx Tx, cause cloudevents.Event, typ events.Type, data events.Payload) error {
	e, err := events.New(ctx, typ, events.Meta{ID: events.DerivedID(cause, s.Source, typ), Source: s.Source, Time: s.now()}, data)
	if err != nil {
		return err
	}
	tx.Publish(e)
	tx.MarkHandled(s.Source, cause)
	return nil
}
