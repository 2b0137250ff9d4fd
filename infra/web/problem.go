// Package web is the domain-free HTTP plumbing every carrot process
// shares: problem responses, strict JSON decoding, bearer-token auth,
// idempotent POSTs, request logging, the router, request spans,
// and the server runtime Knative expects ($PORT, health probes, drain on
// SIGTERM).
//
// It knows no domain. Its own failures are *StatusError values, and its
// problem writer takes the translation of any other error as a ProblemFunc:
// infra/edge hands it the one that maps the domain's error codes.
package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// ProblemType is the prefix of every problem type URI carrot answers; the
// last segment names the kind of problem, e.g. ProblemType+"conflict".
const ProblemType = "https://carrot.dev/problems/"

// RetryAfterSeconds is what a 503 answer tells the caller to wait.
const RetryAfterSeconds = 2

// Problem is an RFC 9457 problem details body. Errors is set only for
// invalid input and names each offending field.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names one offending field of an invalid request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// StatusError is an HTTP-level failure, such as 413, 415 or a body that is
// not valid JSON. ProblemOf answers it with Status, its Title (the status
// text when empty), Detail, which must be safe to show, and Fields, which
// only a 400 should carry. Err is the cause, never shown; Unwrap returns
// it, so a translation that knows the cause (see infra/edge) may answer
// it instead. Domain failures are the domain's errors, never StatusError.
type StatusError struct {
	Status int
	Title  string
	Detail string
	Fields []FieldError
	Err    error
}

func (e *StatusError) Error() string {
	return strconv.Itoa(e.Status) + " " + e.title() + ": " + e.Detail
}

func (e *StatusError) Unwrap() error { return e.Err }

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
	http.StatusRequestTimeout:        {"request-timeout", "Request timeout"},
	http.StatusConflict:              {"conflict", "Conflict"},
	http.StatusRequestEntityTooLarge: {"payload-too-large", "Payload too large"},
	http.StatusUnsupportedMediaType:  {"unsupported-media-type", "Unsupported media type"},
	http.StatusUnprocessableEntity:   {"idempotency-key-reused", "Idempotency key reused"},
	http.StatusInternalServerError:   {"internal", "Internal error"},
	http.StatusServiceUnavailable:    {"unavailable", "Service unavailable"},
}

// InternalDetail is all a caller learns about an unexpected failure.
const InternalDetail = "an unexpected error occurred; it has been logged"

// NewProblem returns the problem for status with the standard type and
// title of that status.
func NewProblem(status int, detail string) Problem {
	k, ok := kinds[status]
	if !ok {
		k = kind{slug: strconv.Itoa(status), title: http.StatusText(status)}
	}
	return Problem{Type: ProblemType + k.slug, Title: k.title, Status: status, Detail: detail}
}

// ProblemFunc translates err into the problem a caller sees. The second
// result reports whether err must be logged because the caller is not
// told what happened. ProblemOf is the plumbing's own; infra/edge's adds
// the domain's error codes.
type ProblemFunc func(err error) (Problem, bool)

// ErrorFunc answers err as a problem; Error and infra/edge's Error are two.
type ErrorFunc func(w http.ResponseWriter, r *http.Request, err error)

// ProblemOf translates err knowing no domain: a *StatusError keeps its
// status, title, detail and fields; anything else becomes a 500 whose
// detail hides the error text, and must be logged.
func ProblemOf(err error) (Problem, bool) {
	var se *StatusError
	if !errors.As(err, &se) {
		return NewProblem(http.StatusInternalServerError, InternalDetail), true
	}
	p := NewProblem(se.Status, se.Detail)
	if se.Title != "" {
		p.Title = se.Title
	}
	p.Errors = se.Fields
	return p, se.Status >= http.StatusInternalServerError
}

// Error answers err, translated by ProblemOf, as WriteError does.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, err, ProblemOf)
}

// WriteError answers err, translated by translate, as an
// application/problem+json response. A 401 carries WWW-Authenticate
// (unless the caller set one already), a 503 carries Retry-After, and an
// error the caller is not told about is logged with the request's logger.
func WriteError(w http.ResponseWriter, r *http.Request, err error, translate ProblemFunc) {
	p, log := translate(err)
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
		body, _ = json.Marshal(NewProblem(status, InternalDetail))
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
