package dynamo_test

import (
	"context"
	"encoding/json"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
)

func TestOutbox(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := events.WithTraceparent(context.Background(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")

	// Three commits, the first with three events: the outbox answers them
	// in commit order, and in op order within a commit.
	var want []cloudevents.Event
	for _, n := range []int{3, 1, 2} {
		var ops []app.Op
		for range n {
			e := itemEvent(t, ctx, events.ItemUpdated, uid())
			want = append(want, e)
			ops = append(ops, app.Publish{Event: e})
		}
		mustCommit(t, s, ops...)
	}

	got, err := s.PendingEvents(ctx, 0)
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for i := range want {
		assertSameEvent(t, want[i], got[i])
	}
	assert.Equal(t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", got[0].Extensions()[events.TraceparentExtension])
	assert.Equal(t, want[0].Extensions()[events.PartitionKeyExtension], got[0].Extensions()[events.PartitionKeyExtension])
	payload, err := events.Decode(got[0])
	require.NoError(t, err)
	assert.Equal(t, want[0].Subject(), payload.Subject())

	first, err := s.PendingEvents(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{want[0].ID(), want[1].ID()}, ids(first, cloudevents.Event.ID))

	require.NoError(t, s.MarkSent(ctx, want[0].ID(), want[1].ID(), want[1].ID(), "unknown-id"))
	rest, err := s.PendingEvents(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, ids(want[2:], cloudevents.Event.ID), ids(rest, cloudevents.Event.ID))

	require.NoError(t, s.MarkSent(ctx, ids(want, cloudevents.Event.ID)...), "marking twice is harmless")
	none, err := s.PendingEvents(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestOutboxManyEvents(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	ctx := context.Background()
	var all []string
	for range 3 {
		ops := make([]app.Op, 40) // MarkSent batches by 25
		for i := range ops {
			e := itemEvent(t, ctx, events.ItemRegistered, uid())
			all = append(all, e.ID())
			ops[i] = app.Publish{Event: e}
		}
		mustCommit(t, s, ops...)
	}
	got, err := s.PendingEvents(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, all, ids(got, cloudevents.Event.ID))
	require.NoError(t, s.MarkSent(ctx, all...))
	got, err = s.PendingEvents(ctx, 0)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// assertSameEvent compares two events attribute by attribute and by their
// JSON, which is what the broker receives.
func assertSameEvent(t *testing.T, want, got cloudevents.Event) {
	t.Helper()
	assert.Equal(t, want.Context.AsV1(), got.Context.AsV1())
	assert.Equal(t, want.Extensions(), got.Extensions())
	assert.JSONEq(t, string(want.Data()), string(got.Data()))
	wj, err := json.Marshal(want)
	require.NoError(t, err)
	gj, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(wj), string(gj))
	assert.Equal(t, want.String(), got.String())
}
