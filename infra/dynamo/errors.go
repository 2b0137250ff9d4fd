package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// failure is a *market.Error that keeps the SDK error behind it. Its
// Error() prints only the market error, so no SDK text reaches a client
// that prints it, yet errors.As and errors.Is still find the cause for
// logging and diagnosis.
type failure struct {
	err   *market.Error
	cause error
}

func (f *failure) Error() string   { return f.err.Error() }
func (f *failure) Unwrap() []error { return []error{f.err, f.cause} }

// fail classifies an SDK or transport error as Unavailable (retry later)
// or Internal (a bug or a misconfiguration). what names the operation in
// words a client may read, e.g. "reading the item".
func fail(what string, err error) error {
	if err == nil {
		return nil
	}
	var me *market.Error
	if errors.As(err, &me) {
		return err
	}
	if transient(err) {
		return &failure{err: market.Errorf(market.Unavailable, "storage is unavailable while %s; retry later", what), cause: err}
	}
	return &failure{err: market.Errorf(market.Internal, "storage failed while %s", what), cause: err}
}

// transient reports whether err is worth retrying later: throttling,
// capacity, timeouts, a cancelled context or an unreachable endpoint.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var maxAttempts *retry.MaxAttemptsError
	if errors.As(err, &maxAttempts) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
			"LimitExceededException", "InternalServerError", "ServiceUnavailable",
			"TransactionInProgressException", "ReplicatedWriteConflictException":
			return true
		}
		return api.ErrorFault() == smithy.FaultServer
	}
	var invalid smithy.InvalidParamsError
	var serialization *smithy.SerializationError
	if errors.As(err, &invalid) || errors.As(err, &serialization) {
		return false
	}
	var opErr *smithy.OperationError
	if errors.As(err, &opErr) {
		// An operation error without an API error never reached DynamoDB:
		// DNS, connection refused, or a response that could not be read.
		return true
	}
	return false
}

// commitError turns a failed TransactWriteItems into the error Update
// promises. duplicate[i] says that action i marks an event handled. A
// failed condition makes the attempt stale, except that a failed
// MarkHandled wins: a redelivered event trips the version checks of its
// other writes too and must be acknowledged as a duplicate, not retried.
func commitError(duplicate []bool, err error) error {
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		stale, sawThrottle := false, false
		for i, r := range canceled.CancellationReasons {
			switch code := deref(r.Code); code {
			case "ConditionalCheckFailed":
				if i < len(duplicate) && duplicate[i] {
					return app.ErrDuplicate
				}
				stale = true
			case "TransactionConflict":
				stale = true
			case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
				sawThrottle = true
			}
		}
		switch {
		case stale:
			return app.ErrStale
		case sawThrottle:
			return &failure{err: market.Errorf(market.Unavailable, "storage is busy; retry later"), cause: err}
		}
		return &failure{err: market.Errorf(market.Internal, "storage refused the transaction"), cause: err}
	}
	var conflict *types.TransactionConflictException
	if errors.As(err, &conflict) {
		return app.ErrStale
	}
	return fail("committing", err)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// internalf reports a bug in how the adapter is called, such as a nil
// aggregate in an op. Its message is safe to show.
func internalf(format string, args ...any) error {
	return &failure{err: market.Errorf(market.Internal, "storage cannot do this request"), cause: fmt.Errorf(format, args...)}
}
