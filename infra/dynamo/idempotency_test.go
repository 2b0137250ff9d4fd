package dynamo_test

import (
	"testing"

	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
	"github.com/carrot-market/carrot/infra/idempotency/idempotencytest"
)

// TestIdempotency holds the DynamoDB store's Idempotency-Key records to
// the contract every store keeps.
func TestIdempotency(t *testing.T) {
	t.Parallel()
	idempotencytest.TestStore(t, dynamotest.MustStore(t))
}
