// Package edge translates the one error vocabulary, market.Error, exactly
// once per edge: Error turns it into an RFC 9457 problem for REST callers,
// and Events turns it into a status the Knative broker reads as "done",
// "poison" or "retry". The HTTP mechanics (problem writing, decoding,
// idempotency, the server) are infra/web's; edge only hands it the
// domain's translation. Handlers stay thin: decode, call, respond.
package edge

import (
	"errors"
	"net/http"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/web"
)

// statusOf is the one table that turns a market code into an HTTP status.
var statusOf = map[market.Code]int{
	market.Invalid:      http.StatusBadRequest,
	market.Unauthorized: http.StatusUnauthorized,
	market.Forbidden:    http.StatusForbidden,
	market.NotFound:     http.StatusNotFound,
	market.Conflict:     http.StatusConflict,
	market.Unavailable:  http.StatusServiceUnavailable,
	market.Internal:     http.StatusInternalServerError,
}

// ProblemOf translates err into the problem a REST caller sees; it is a
// web.ProblemFunc. A market.Error anywhere in err's chain maps by its
// code, even behind a *web.StatusError that wraps it (a DTO's rule that
// web.Decode met); every Internal error, and one with an unknown code,
// becomes a 500 whose detail hides the error text. Any other error is
// web.ProblemOf's: a *web.StatusError keeps its status, anything else is a
// 500. The second result reports whether err must be logged because the
// caller is not told what happened.
func ProblemOf(err error) (web.Problem, bool) {
	var me *market.Error
	if !errors.As(err, &me) {
		return web.ProblemOf(err)
	}
	status, ok := statusOf[me.Code]
	if !ok || me.Code == market.Internal {
		return web.NewProblem(http.StatusInternalServerError, web.InternalDetail), true
	}
	p := web.NewProblem(status, me.Message)
	if me.Code == market.Invalid {
		p.Errors = fieldsOf(me.Fields)
	}
	return p, status >= http.StatusInternalServerError
}

func fieldsOf(fs []market.FieldError) []web.FieldError {
	if fs == nil {
		return nil
	}
	out := make([]web.FieldError, len(fs))
	for i, f := range fs {
		out[i] = web.FieldError(f)
	}
	return out
}

// Error answers err as an application/problem+json response translated by
// ProblemOf. It is the only place REST handlers turn errors into statuses.
// A 401 carries WWW-Authenticate (unless the caller set one already), a
// 503 carries Retry-After, and a 500 never shows the error text: it is
// logged with the request's logger instead.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	web.WriteError(w, r, err, ProblemOf)
}

// Idempotent is web.Idempotent answering the store's failures, which are
// market errors (Unavailable when throttled), with Error.
func Idempotent(store web.IdempotencyStore) func(http.Handler) http.Handler {
	return web.Idempotent(store, Error)
}
