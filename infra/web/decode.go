package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// MaxBodyBytes is the largest request body carrot reads: 64 KiB.
const MaxBodyBytes = 64 << 10

// Decode reads the JSON body of r into dst strictly. Every failure is a
// *StatusError that Error answers correctly, and none is a 5xx:
//   - a Content-Type other than application/json (a charset parameter is
//     allowed when it is utf-8) is a 415;
//   - a body over MaxBodyBytes is a 413, whatever it holds;
//   - an empty body, a literal null, malformed JSON, or more than one JSON
//     value is a 400;
//   - a value of the wrong type or a field dst does not declare is a 400
//     whose Fields name the JSON field by its path;
//   - a *StatusError returned by a custom UnmarshalJSON of dst passes
//     through unchanged; any other error of one is a 400 that hides its
//     text and wraps it as Err, so a translation that knows it (infra/edge
//     knows the domain's errors) answers it instead, and DTOs can report
//     their own field rules.
//
// Decode consumes r.Body, reading all of it before parsing. dst may be
// partly filled when Decode fails; callers must not use it after an error.
func Decode(r *http.Request, dst any) error {
	if err := requireJSON(r.Header); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return invalidBody("the body is empty; a JSON value is required")
	case string(trimmed) == "null":
		return invalidBody("the body is null; a JSON value is required")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if dec.InputOffset() != int64(len(trimmed)) {
		return invalidBody("the body must hold exactly one JSON value")
	}
	return nil
}

// requireJSON accepts application/json with no parameter other than a
// utf-8 charset (JSON exchanged between systems is UTF-8, RFC 8259).
func requireJSON(h http.Header) error {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &StatusError{Status: http.StatusUnsupportedMediaType, Detail: "the body must be application/json"}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &StatusError{Status: http.StatusUnsupportedMediaType, Detail: "a JSON body must be encoded in utf-8"}
	}
	return nil
}

// readBody reads at most MaxBodyBytes of r.Body; a longer body is a 413.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, errTooLarge
	case err != nil:
		// The client went away or sent a broken chunked body; it will
		// not read the answer, and it is its fault, so 400.
		return nil, invalidBody("the body could not be read")
	}
	return body, nil
}

var errTooLarge = &StatusError{
	Status: http.StatusRequestEntityTooLarge,
	Detail: fmt.Sprintf("the body exceeds %d bytes", MaxBodyBytes),
}

func decodeError(err error) error {
	var (
		se     *StatusError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &se):
		return se
	case errors.As(err, &syntax):
		return invalidBody(fmt.Sprintf("the body is not valid JSON (at byte %d)", syntax.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidBody("the body is not valid JSON (it ends too early)")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalidBody(fmt.Sprintf("the body must be %s, not %s", jsonKind(typ.Type), typ.Value))
		}
		return invalidField(typ.Field, fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type), typ.Value))
	}
	if name, ok := unknownField(err); ok {
		return invalidField(name, "is not a known field")
	}
	// Another error of a custom UnmarshalJSON (a time that does not parse,
	// or a domain rule of the DTO). Its text may come from library code, so
	// it stays out of this answer; a translation that knows it may answer
	// it instead.
	return &StatusError{Status: http.StatusBadRequest, Detail: "the body has a value of the wrong form", Err: err}
}

// unknownField extracts the field name from encoding/json's error for
// DisallowUnknownFields, which has no type of its own.
func unknownField(err error) (string, bool) {
	rest, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return "", false
	}
	name, err := strconv.Unquote(rest)
	if err != nil {
		return rest, true
	}
	return name, true
}

func invalidBody(msg string) error {
	return &StatusError{Status: http.StatusBadRequest, Detail: msg}
}

// invalidField is a 400 naming one offending field.
func invalidField(field, message string) error {
	return &StatusError{Status: http.StatusBadRequest, Detail: invalidFieldsDetail,
		Fields: []FieldError{{Field: field, Message: message}}}
}

// invalidFieldsDetail is the detail of a 400 that names its fields.
const invalidFieldsDetail = "the request has invalid fields"

// jsonKind names the JSON value a Go type accepts, for field messages.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another value"
}
