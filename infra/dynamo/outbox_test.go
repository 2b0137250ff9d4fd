package dynamo_test

import (
	"context"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
)

// The contract suite checks what reaches the outbox; these tests check
// how the relay reads and empties it.
func TestOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		commits []int // events per commit; MarkSent batches by 25
	}{
		{"a few", []int{3, 1, 2}},
		{"many", []int{40, 40, 40}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := dynamotest.MustStore(t)
			var want []string
			for _, n := range c.commits {
				require.NoError(t, write(s, func(tx app.Tx) {
					for range n {
						e := itemEvent(t, ctx, uid())
						want = append(want, e.ID())
						tx.Publish(e)
					}
				}))
			}
			got, err := s.PendingEvents(ctx, 0)
			require.NoError(t, err)
			assert.Equal(t, want, ids(got, cloudevents.Event.ID), "in commit order, and publishing order within one")

			first, err := s.PendingEvents(ctx, 2)
			require.NoError(t, err)
			assert.Equal(t, want[:2], ids(first, cloudevents.Event.ID))

			require.NoError(t, s.MarkSent(ctx, want[0], want[1], want[1], "unknown-id"))
			rest, err := s.PendingEvents(ctx, 0)
			require.NoError(t, err)
			assert.Equal(t, want[2:], ids(rest, cloudevents.Event.ID))

			require.NoError(t, s.MarkSent(ctx, want...), "marking twice is harmless")
			none, err := s.PendingEvents(ctx, 10)
			require.NoError(t, err)
			assert.Empty(t, none)
		})
	}
}
