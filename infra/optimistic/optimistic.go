// Package optimistic runs units of work under optimistic locking for the
// storage adapters: an attempt that loses a race to a concurrent writer
// (app.ErrStale) runs again on fresh loads, a bounded number of times.
package optimistic

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/carrot-market/carrot/functions/app"
)

// MaxAttempts bounds how often a unit of work runs before Retry gives up
// with app.ErrStale.
const MaxAttempts = 8

// Retry runs attempt until it returns anything but app.ErrStale, at most
// MaxAttempts times, after a short random pause that grows with each
// attempt so that racing writers spread out. Business conflicts carry
// their own errors and are returned at once.
func Retry(ctx context.Context, attempt func() error) error {
	var err error
	for i := range MaxAttempts {
		if err = attempt(); !errors.Is(err, app.ErrStale) {
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
