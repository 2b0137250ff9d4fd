package dynamo_test

import (
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
	for _, c := range []struct {
		name    string
		commits []int // events per commit; MarkSent batches by 25
	}{
		{"a few", []int{3, 1, 2}},
		{"many", []int{40, 40, 40}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, s := t.Context(), dynamotest.MustStore(t)
			var want []string
			for _, n := range c.commits {
				require.NoError(t, write(s, func(tx app.Tx) {
					for range n {
						e := newEvent()
						want = append(want, e.ID())
						tx.Publish(e)
					}
				}))
			}
			got, err := s.PendingEvents(ctx, 0)
			require.NoError(t, err)
			assert.Equal(t, want, eventIDs(got), "in commit order, and publishing order within one")

			first, err := s.PendingEvents(ctx, 2)
			require.NoError(t, err)
			assert.Equal(t, want[:2], eventIDs(first))

			require.NoError(t, s.MarkSent(ctx, want[0], want[1], want[1], "unknown-id"))
			rest, err := s.PendingEvents(ctx, 0)
			require.NoError(t, err)
			assert.Equal(t, want[2:], eventIDs(rest))

			require.NoError(t, s.MarkSent(ctx, want...), "marking twice is harmless")
			none, err := s.PendingEvents(ctx, 10)
			require.NoError(t, err)
			assert.Empty(t, none)
		})
	}
}

// newEvent returns a valid event with a fresh id.
func newEvent() cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(uid())
	e.SetSource("/carrot/test")
	e.SetType("carrot.test.v1")
	return e
}

// eventIDs returns the id of each of evs.
func eventIDs(evs []cloudevents.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID()
	}
	return out
}
