package dynamo

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

func canceled(codes ...string) error {
	var reasons []types.CancellationReason
	for _, c := range codes {
		reasons = append(reasons, types.CancellationReason{Code: aws.String(c), Message: aws.String("SDK detail " + c)})
	}
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "TransactWriteItems",
		Err: &types.TransactionCanceledException{Message: aws.String("Transaction cancelled, SDK detail"), CancellationReasons: reasons}}
}

func TestCommitError(t *testing.T) {
	t.Parallel()
	duplicate := []bool{false, false, true} // the third action marks an event handled
	cases := []struct {
		name string
		err  error
		want error
		code market.Code
	}{
		{"failed condition", canceled("None", "ConditionalCheckFailed", "None"), app.ErrStale, market.Conflict},
		{"failed conditions", canceled("ConditionalCheckFailed", "ConditionalCheckFailed", "None"), app.ErrStale, market.Conflict},
		{"a failed MarkHandled is a duplicate", canceled("ConditionalCheckFailed", "None", "ConditionalCheckFailed"), app.ErrDuplicate, market.Conflict},
		{"concurrent transaction", canceled("None", "TransactionConflict", "None"), app.ErrStale, market.Conflict},
		{"conflict exception", &types.TransactionConflictException{Message: aws.String("x")}, app.ErrStale, market.Conflict},
		{"throttled", canceled("ThrottlingError", "None", "None"), nil, market.Unavailable},
		{"throughput", &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}, nil, market.Unavailable},
		{"deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), nil, market.Unavailable},
		{"validation", canceled("ValidationError", "None", "None"), nil, market.Internal},
		{"unknown", errors.New("SDK detail: boom"), nil, market.Internal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := commitError(duplicate, c.err)
			if c.want != nil {
				assert.ErrorIs(t, got, c.want)
			}
			assert.Equal(t, c.code, market.ErrorCode(got))
			assert.NotContains(t, got.Error(), "SDK detail", "no SDK text in the message")
			var me *market.Error
			if assert.ErrorAs(t, got, &me) {
				assert.NotContains(t, me.Message, "SDK detail")
			}
			if c.want == nil {
				assert.ErrorIs(t, got, c.err, "the cause is kept for logs")
			}
		})
	}
}
