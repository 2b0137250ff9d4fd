package memory_test

import (
	"context"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/functions/app/apptest"
	"github.com/carrot-market/carrot/infra/idempotency/idempotencytest"
	"github.com/carrot-market/carrot/infra/memory"
)

// TestStore holds the in-memory store to the same contract as DynamoDB's.
func TestStore(t *testing.T) {
	t.Parallel()
	apptest.TestStore(t, func(*testing.T) apptest.Stores {
		s := memory.New()
		return apptest.Stores{Store: s, Views: s, Inspector: inspector{s}}
	})
}

// inspector reads the outbox through the context-taking signature of
// apptest.Inspector.
type inspector struct{ *memory.Store }

func (i inspector) Outbox(context.Context) ([]cloudevents.Event, error) { return i.Store.Outbox(), nil }

// TestIdempotency holds the in-memory Idempotency-Key records to the same
// contract as DynamoDB's.
func TestIdempotency(t *testing.T) {
	t.Parallel()
	idempotencytest.TestStore(t, memory.New())
}
