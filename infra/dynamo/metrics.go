package dynamo

import (
	"context"
	"errors"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/carrot-market/carrot/infra/telemetry"
)

// callDuration is OpenTelemetry's db.client.operation.duration: one
// observation per DynamoDB call, by operation (GetItem,
// TransactWriteItems, ...), with error.type set to DynamoDB's error code
// (ConditionalCheckFailedException, TransactionCanceledException, ...)
// when the call failed. Its count is the calls; a call's duration
// includes the SDK's own retries.
var callDuration = telemetry.Must(telemetry.Meter("github.com/carrot-market/carrot/infra/dynamo").Float64Histogram(
	"db.client.operation.duration",
	metric.WithUnit("s"),
	metric.WithDescription("Duration of DynamoDB calls, by operation and error."),
	metric.WithExplicitBucketBoundaries(telemetry.DurationBuckets...)))

// measureCalls adds the measuring middleware to a client's stack, first in
// its Initialize step, so that it sees a call whole: retries, signing and
// the answer's decoding.
func measureCalls(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("carrotMetrics", measureCall), middleware.Before)
}

func measureCall(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	start := time.Now()
	out, md, err := next.HandleInitialize(ctx, in)
	attrs := []attribute.KeyValue{
		semconv.DBSystemNameAWSDynamoDB,
		semconv.DBOperationNameKey.String(awsmiddleware.GetOperationName(ctx)),
	}
	if err != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(err)))
	}
	callDuration.Record(context.WithoutCancel(ctx), time.Since(start).Seconds(), metric.WithAttributes(attrs...))
	return out, md, err
}

// errorType names a failed call's error by DynamoDB's code, or by what
// ended it when DynamoDB gave no answer.
func errorType(err error) string {
	var api smithy.APIError
	switch {
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "_OTHER"
}
