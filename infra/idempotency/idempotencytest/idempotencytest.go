// Package idempotencytest is the contract suite of idempotency.Store: every
// store runs it against its real backend.
package idempotencytest

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/idempotency"
)

// TestStore runs the suite against s, each case under keys of its own.
func TestStore(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	answer := idempotency.Response{Fingerprint: "sha256:abc", Status: 201,
		Header: map[string]string{"Content-Type": "application/json", "Location": "/items/1"}, Body: []byte(`{"itemId":"1"}`)}
	begin := func(t *testing.T, k, fingerprint string, lease time.Duration) *idempotency.Response {
		t.Helper()
		got, err := s.Begin(ctx, k, fingerprint, lease)
		require.NoError(t, err)
		return got
	}

	t.Run("begin, finish, replay", func(t *testing.T) {
		t.Parallel()
		k := key()
		require.Nil(t, begin(t, k, "sha256:abc", time.Minute), "the first caller wins")
		_, err := s.Begin(ctx, k, "sha256:abc", time.Minute)
		require.ErrorIs(t, err, idempotency.ErrInProgress)

		require.NoError(t, s.Finish(ctx, k, answer))
		assert.Equal(t, &answer, begin(t, k, "sha256:other", time.Minute), "a finished key answers as it did, whatever the new fingerprint")
		require.NoError(t, s.Abort(ctx, k), "aborting a finished key keeps its answer")
		assert.Equal(t, &answer, begin(t, k, "sha256:abc", time.Minute))
	})

	t.Run("abort frees the key", func(t *testing.T) {
		t.Parallel()
		k := key()
		require.Nil(t, begin(t, k, "f", time.Minute))
		require.NoError(t, s.Abort(ctx, k))
		assert.Nil(t, begin(t, k, "f", time.Minute), "the retry runs again")
		require.NoError(t, s.Abort(ctx, key()), "aborting an unknown key is harmless")
	})

	t.Run("an expired lease is taken over", func(t *testing.T) {
		t.Parallel()
		k := key()
		require.Nil(t, begin(t, k, "f", 20*time.Millisecond))
		time.Sleep(60 * time.Millisecond)
		assert.Nil(t, begin(t, k, "f", time.Minute), "the holder crashed; the retry wins")
		_, err := s.Begin(ctx, k, "f", time.Minute)
		assert.ErrorIs(t, err, idempotency.ErrInProgress)
	})

	t.Run("an empty answer round-trips", func(t *testing.T) {
		t.Parallel()
		k := key()
		begin(t, k, "f", time.Minute)
		require.NoError(t, s.Finish(ctx, k, idempotency.Response{Fingerprint: "f", Status: 204}))
		got := begin(t, k, "f", time.Minute)
		require.NotNil(t, got)
		assert.Equal(t, 204, got.Status)
		assert.Empty(t, got.Body)
		assert.Empty(t, got.Header)
	})

	t.Run("concurrent begins have one winner", func(t *testing.T) {
		t.Parallel()
		k := key()
		const n = 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, busy := 0, 0
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				got, err := s.Begin(ctx, k, "f", time.Minute)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && got == nil:
					won++
				case errors.Is(err, idempotency.ErrInProgress):
					busy++
				default:
					t.Errorf("unexpected answer %v, %v", got, err)
				}
			})
		}
		close(start)
		wg.Wait()
		assert.Equal(t, 1, won)
		assert.Equal(t, n-1, busy)
	})
}

// key returns a fresh key: stores are shared between cases and runs.
func key() string { return "idem-" + rand.Text() }
