// Package market is carrot's domain: items, reservations with their chat,
// payments, reviews and the rules that tie them together. It imports no
// storage, transport or broker package; adapters translate to and from it.
package market

import (
	"errors"
	"fmt"
	"slices"
)

// Code classifies an Error. Each edge translates a code exactly once: to an
// HTTP status for REST callers and to a retry decision for event deliveries.
type Code string

const (
	Invalid      Code = "invalid"      // the input breaks a field rule
	Unauthorized Code = "unauthorized" // the caller is not authenticated
	Forbidden    Code = "forbidden"    // the caller may not do this to that resource
	NotFound     Code = "not_found"    // the resource does not exist
	Conflict     Code = "conflict"     // the resource is in the wrong state, or a race was lost
	Unavailable  Code = "unavailable"  // a dependency is down; the caller may retry later
	Internal     Code = "internal"     // a bug or an unexpected failure
)

// FieldError names one offending field of an Invalid error.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the one error type the domain and its use cases return. Message is
// safe to show to a caller; it never carries SDK or stack details.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s %v", e.Code, e.Message, e.Fields)
}

// Errorf returns an Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, Internal for any error that is not an
// *Error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Fields collects field errors and turns them into one Invalid error.
type Fields []FieldError

// Add records a problem with field.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Has reports whether a problem with field was recorded.
func (f Fields) Has(field string) bool {
	return slices.ContainsFunc(f, func(e FieldError) bool { return e.Field == field })
}

// Err returns nil when no field was added, else an Invalid error naming them all.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "the request has invalid fields", Fields: f}
}
