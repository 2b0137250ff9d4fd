package optimistic_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/optimistic"
)

func TestRetry(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name      string
		results   []error
		wantErr   error
		wantCalls int
	}{
		{"done at once", []error{nil}, nil, 1},
		{"won after two lost races", []error{app.ErrStale, app.ErrStale, nil}, nil, 3},
		{"other errors end it", []error{app.ErrStale, boom}, boom, 2},
		{"gives up stale", nil, app.ErrStale, optimistic.MaxAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := optimistic.Retry(context.Background(), func() error {
				calls++
				if calls <= len(tt.results) {
					return tt.results[calls-1]
				}
				return app.ErrStale
			})
			assert.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr == nil {
				assert.NoError(t, err)
			}
			assert.Equal(t, tt.wantCalls, calls)
		})
	}
}

func TestRetryStopsWithTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	err := optimistic.Retry(ctx, func() error { calls++; return app.ErrStale })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, calls)
}
