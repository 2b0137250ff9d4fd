// Package optimistic runs units of work under optimistic locking for the
// storage adapters: an attempt that loses a race to a concurrent writer
// (app.ErrStale) runs again on fresh loads, a bounded number of times.
package optimistic

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/functions/app"
)

// MaxAttempts bounds how often a unit of work runs before Retry gives up
// with app.ErrStale.
const MaxAttempts = 8

// Retry runs attempt until it returns anything but app.ErrStale, at most
// MaxAttempts times, after a short random pause that grows with each
// attempt so that racing writers spread out. Business conflicts carry
// their own errors and are returned at once. Every lost race is counted in
// carrot.optimistic.races_lost.
func Retry(ctx context.Context, attempt func() error) error {
	var err error
	for i := range MaxAttempts {
		if err = attempt(); !errors.Is(err, app.ErrStale) {
			return err
		}
		pause := time.Duration(rand.Int64N(int64(5*time.Millisecond) << i))
		select {
		case <-ctx.Done():
			countLostRace(ctx, "gave_up")
			return ctx.Err()
		case <-time.After(pause):
		}
		if i < MaxAttempts-1 {
			countLostRace(ctx, "retried")
		}
	}
	countLostRace(ctx, "gave_up")
	return err
}

// Attempt is one attempt of a unit of work as a storage adapter runs it.
type Attempt interface {
	// Commit writes what the attempt did in one transaction; app.ErrStale
	// when it lost a race.
	Commit() error
	// Published returns the events the attempt wrote to the outbox.
	Published() []cloudevents.Event
}

// Update runs change on a fresh attempt from begin and commits it, again
// while it loses races (Retry's rules), and returns the events of the
// attempt that committed.
func Update[A Attempt](ctx context.Context, begin func() A, change func(A) error) ([]cloudevents.Event, error) {
	var published []cloudevents.Event
	err := Retry(ctx, func() error {
		a := begin()
		if err := change(a); err != nil {
			return err
		}
		if err := a.Commit(); err != nil {
			return err
		}
		published = a.Published()
		return nil
	})
	return published, err
}
