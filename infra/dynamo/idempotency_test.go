package dynamo_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
)

func TestIdempotency(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()
	answer := dynamo.StoredResponse{Fingerprint: "sha256:abc", Status: 201,
		Header: map[string]string{"Content-Type": "application/json", "Location": "/items/1"}, Body: []byte(`{"itemId":"1"}`)}

	t.Run("begin, finish, replay", func(t *testing.T) {
		t.Parallel()
		k := uid()
		got, err := s.Begin(ctx, k, "sha256:abc", time.Minute)
		require.NoError(t, err)
		require.Nil(t, got, "the first caller wins")

		_, err = s.Begin(ctx, k, "sha256:abc", time.Minute)
		require.ErrorIs(t, err, dynamo.ErrInProgress)

		require.NoError(t, s.Finish(ctx, k, answer))
		got, err = s.Begin(ctx, k, "sha256:other", time.Minute)
		require.NoError(t, err)
		assert.Equal(t, &answer, got, "a finished key answers as it did, whatever the new fingerprint")

		require.NoError(t, s.Abort(ctx, k), "aborting a finished key keeps its answer")
		got, err = s.Begin(ctx, k, "sha256:abc", time.Minute)
		require.NoError(t, err)
		assert.Equal(t, &answer, got)
	})

	t.Run("abort frees the key", func(t *testing.T) {
		t.Parallel()
		k := uid()
		got, err := s.Begin(ctx, k, "f", time.Minute)
		require.NoError(t, err)
		require.Nil(t, got)
		require.NoError(t, s.Abort(ctx, k))
		got, err = s.Begin(ctx, k, "f", time.Minute)
		require.NoError(t, err)
		assert.Nil(t, got, "the retry runs again")
		require.NoError(t, s.Abort(ctx, uid()), "aborting an unknown key is harmless")
	})

	t.Run("an expired lease is taken over", func(t *testing.T) {
		t.Parallel()
		k := uid()
		got, err := s.Begin(ctx, k, "f", 20*time.Millisecond)
		require.NoError(t, err)
		require.Nil(t, got)
		time.Sleep(60 * time.Millisecond)
		got, err = s.Begin(ctx, k, "f", time.Minute)
		require.NoError(t, err)
		assert.Nil(t, got, "the holder crashed; the retry wins")
		_, err = s.Begin(ctx, k, "f", time.Minute)
		assert.ErrorIs(t, err, dynamo.ErrInProgress)
	})

	t.Run("an empty answer round-trips", func(t *testing.T) {
		t.Parallel()
		k := uid()
		_, err := s.Begin(ctx, k, "f", time.Minute)
		require.NoError(t, err)
		require.NoError(t, s.Finish(ctx, k, dynamo.StoredResponse{Fingerprint: "f", Status: 204}))
		got, err := s.Begin(ctx, k, "f", time.Minute)
		require.NoError(t, err)
		require.NotNil(t, got)
		assert.Equal(t, 204, got.Status)
		assert.Empty(t, got.Body)
		assert.Empty(t, got.Header)
	})

	t.Run("concurrent begins have one winner", func(t *testing.T) {
		t.Parallel()
		k := uid()
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
				case errors.Is(err, dynamo.ErrInProgress):
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
