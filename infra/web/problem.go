// Package web is the HTTP and CloudEvents plumbing every carrot function
// shares: problem responses, strict JSON decoding, bearer-token auth,
// idempotent POSTs, the CloudEvents edge with its retry contract, and the
// server runtime Knative expects ($PORT, health probes, drain on SIGTERM).
//
// It translates the one error vocabulary, market.Error, exactly once per
// edge: Error turns it into an RFC 9457 problem for REST callers, and
// Events turns it into a status the Knative broker reads as "done",
// "poison" or "retry". Handlers stay thin: decode, call, respond.
package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/carrot-market/carrot/functions/market"
)

// ProblemType is the prefix of every problem type URI carrot answers; the
// last segment names the kind of problem, e.g. ProblemType+"conflict".
const ProblemType = "https://carrot.dev/problems/"

// RetryAfterSeconds is what a 503 answer tells the caller to wait.
const RetryAfterSeconds = 2

// Problem is an RFC 9457 problem details body. Errors is set only for
// invalid input and names each offending field.
type Problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors []market.FieldError `json:"errors,omitempty"`
}

// StatusError is an HTTP-level failure that has no place in the domain's
// vocabulary, such as 413 or 415. Error answers it with Status, its Title
// (the status text when empty) and Detail, which must be safe to show.
// Domain failures are market.Error values, never StatusError.
type StatusError struct {
	Status int
	Title  string
	Detail string
}

func (e *StatusError) Error() string {
	return strconv.Itoa(e.Status) + " " + e.title() + ": " + e.Detail
}

func (e *StatusError) title() string {
	if e.Title != "" {
		return e.Title
	}
	return http.StatusText(e.Status)
}

// kind is how one HTTP status appears as a problem.
type kind struct {
	slug  string
	title string
}

// kinds is the one table of problem types. A status missing here answers
// with its status text and a slug derived from the status code.
var kinds = map[int]kind{
	http.StatusBadRequest:            {"invalid", "Invalid request"},
	http.StatusUnauthorized:          {"unauthorized", "Authentication required"},
	http.StatusForbidden:             {"forbidden", "Forbidden"},
	http.StatusNotFound:              {"not-found", "Not found"},
	http.StatusMethodNotAllowed:      {"method-not-allowed", "Method not allowed"},
	http.StatusConflict:              {"conflict", "Conflict"},
	http.StatusRequestEntityTooLarge: {"payload-too-large", "Payload too large"},
	http.StatusUnsupportedMediaType:  {"unsupported-media-type", "Unsupported media type"},
	http.StatusUnprocessableEntity:   {"idempotency-key-reused", "Idempotency key reused"},
	http.StatusInternalServerError:   {"internal", "Internal error"},
	http.StatusServiceUnavailable:    {"unavailable", "Service unavailable"},
}

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

// internalDetail is all a caller learns about an unexpected failure.
const internalDetail = "an unexpected error occurred; it has been logged"

// NewProblem returns the problem for status with the standard type and
// title of that status.
func NewProblem(status int, detail string) Problem {
	k, ok := kinds[status]
	if !ok {
		k = kind{slug: strconv.Itoa(status), title: http.StatusText(status)}
	}
	return Problem{Type: ProblemType + k.slug, Title: k.title, Status: status, Detail: detail}
}

// ProblemOf translates err into the problem a REST caller sees. A
// *StatusError keeps its status; a market.Error maps by its code; anything
// else, and every Internal error, becomes a 500 whose detail hides the
// error text. The second result reports whether err must be logged
// because the caller is not told what happened.
func ProblemOf(err error) (Problem, bool) {
	var se *StatusError
	if errors.As(err, &se) {
		p := NewProblem(se.Status, se.Detail)
		if se.Title != "" {
			p.Title = se.Title
		}
		return p, se.Status >= http.StatusInternalServerError
	}
	var me *market.Error
	if !errors.As(err, &me) || me.Code == market.Internal {
		return NewProblem(http.StatusInternalServerError, internalDetail), true
	}
	status, ok := statusOf[me.Code]
	if !ok {
		return NewProblem(http.StatusInternalServerError, internalDetail), true
	}
	p := NewProblem(status, me.Message)
	if me.Code == market.Invalid {
		p.Errors = me.Fields
	}
	return p, status >= http.StatusInternalServerError
}

// Error answers err as an application/problem+json response. It is the only
// place REST handlers turn errors into statuses. A 401 carries
// WWW-Authenticate (unless the caller set one already), a 503 carries
// Retry-After, and a 500 never shows the error text: it is logged with the
// request's logger instead.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	p, log := ProblemOf(err)
	if log {
		Log(r.Context()).Errorw("request failed", "error", err, "status", p.Status)
	}
	WriteProblem(w, p)
}

// WriteProblem writes p with the headers its status requires.
func WriteProblem(w http.ResponseWriter, p Problem) {
	h := w.Header()
	switch p.Status {
	case http.StatusUnauthorized:
		if h.Get("WWW-Authenticate") == "" {
			h.Set("WWW-Authenticate", `Bearer realm="carrot"`)
		}
	case http.StatusServiceUnavailable:
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		}
	}
	write(w, "application/problem+json", p.Status, p)
}

// JSON answers v as an application/json body with status. v is encoded
// before anything is sent, so a value that cannot be encoded (a bug) answers
// a clean 500 problem instead of a half-written body.
func JSON(w http.ResponseWriter, status int, v any) {
	write(w, "application/json", status, v)
}

func write(w http.ResponseWriter, contentType string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		contentType, status = "application/problem+json", http.StatusInternalServerError
		body, _ = json.Marshal(NewProblem(status, internalDetail))
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// NotFound answers 404 for a path no route serves. It fits
// mux.Router.NotFoundHandler.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteProblem(w, NewProblem(http.StatusNotFound, "no resource at "+r.URL.Path))
}

// MethodNotAllowed answers 405 for a path whose routes take other methods.
// It fits mux.Router.MethodNotAllowedHandler; NewRouter's variant also
// sets the Allow header.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	WriteProblem(w, NewProblem(http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
}
