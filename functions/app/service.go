package app

import (
	"context"
	"errors"
	"math/rand/v2"
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

// maxAttempts bounds how often a policy reloads and reapplies an event
// after losing an optimistic-locking race before it gives up for now.
const maxAttempts = 8

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

// commit writes ops in one transaction and, once it is durable, hands the
// events it published to the Publisher. An event that cannot be sent now
// stays in the outbox for the relay, so a committed command never fails.
func (s *Service) commit(ctx context.Context, st interface {
	Commit(context.Context, ...Op) error
}, ops ...Op) error {
	if err := st.Commit(ctx, ops...); err != nil {
		return err
	}
	var evs []cloudevents.Event
	for _, op := range ops {
		if p, ok := op.(Publish); ok {
			evs = append(evs, p.Event)
		}
	}
	if len(evs) > 0 && s.Publisher != nil {
		s.Publisher.Publish(ctx, evs)
	}
	return nil
}

// fact builds a Publish op for a new fact of a command.
func (s *Service) fact(ctx context.Context, typ events.Type, data events.Payload) (Op, error) {
	e, err := events.New(ctx, typ, events.Meta{ID: s.newID(), Source: s.Source, Time: s.now()}, data)
	if err != nil {
		return nil, err
	}
	return Publish{Event: e}, nil
}

// reaction builds a Publish op for a fact a policy emits because of cause.
// Its id derives from the cause, so a redelivery emits the very same fact.
func (s *Service) reaction(ctx context.Context, cause cloudevents.Event, typ events.Type, data events.Payload) (Op, error) {
	e, err := events.New(ctx, typ, events.Meta{ID: events.DerivedID(cause, s.Source, typ), Source: s.Source, Time: s.now()}, data)
	if err != nil {
		return nil, err
	}
	return Publish{Event: e}, nil
}

// retryStale runs attempt again while it loses optimistic-locking races
// (ErrStale from Commit), up to maxAttempts times, after a short random
// pause that grows with each attempt so that racing writers spread out.
// Business conflicts carry their own errors and are returned at once.
func retryStale(ctx context.Context, attempt func() error) error {
	var err error
	for i := range maxAttempts {
		if err = attempt(); !errors.Is(err, ErrStale) {
			return err
		}
		pause := time.Duration(rand.Int64N(int64(5*time.Millisecond) << i))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return err
}
