package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxBodyBytes is the largest request body carrot reads: 64 KiB.
const MaxBodyBytes = 64 << 10

// Decode reads the JSON body of r into dst strictly. Every failure is a
// *StatusError that Error answers correctly, and none is a 5xx:
//   - a Content-Type other than application/json (a charset parameter is
//     allowed when it is utf-8) is a 415;
//   - a body over MaxBodyBytes is a 413, whatever it holds;
//   - an empty body, a literal null, a body that is not UTF-8, malformed
//     JSON, or more than one JSON value is a 400;
//   - a member whose name is not exactly (case included) one of dst's
//     fields, a member given twice, a null for any member, and a value of
//     the wrong type are each a 400 whose Fields name the member by its
//     path from the root ("meeting.date"; array indices are left out, so
//     an element of "photos" is named "photos"); no carrot input field is
//     nullable, so a client leaves a field out instead of sending null;
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
	case !utf8.Valid(trimmed):
		return invalidBody("the body is not valid UTF-8")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(trimmed))
	if err := json.UnmarshalDecode(dec, dst, strict); err != nil {
		return decodeError(reflect.TypeOf(dst), err)
	}
	if dec.InputOffset() != int64(len(trimmed)) {
		return invalidBody("the body must hold exactly one JSON value")
	}
	return nil
}

// strict are the options of Decode. Names match case-sensitively and a
// duplicated name is a syntactic error by default in json v2; unknown
// members and nulls are refused on top of that.
var strict = json.JoinOptions(
	json.RejectUnknownMembers(true),
	json.WithUnmarshalers(json.UnmarshalFromFunc(refuseNull)),
)

// errNull is refuseNull's answer to a null.
var errNull = errors.New("null")

// refuseNull refuses a JSON null wherever it stands, and leaves every other
// value to its type's own unmarshalling.
func refuseNull(dec *jsontext.Decoder, _ any) error {
	if dec.PeekKind() == 'n' {
		return errNull
	}
	return errors.ErrUnsupported
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

// decodeError turns an error of decoding into dst, of type dstType, into
// the 400 Decode promises.
func decodeError(dstType reflect.Type, err error) error {
	var (
		se       *StatusError
		syntax   *jsontext.SyntacticError
		semantic *json.SemanticError
	)
	switch {
	case errors.As(err, &se):
		return se
	case errors.As(err, &syntax):
		switch {
		case errors.Is(syntax.Err, jsontext.ErrDuplicateName):
			return invalidField(fieldPath(dstType, syntax.JSONPointer), "is given more than once")
		case errors.Is(syntax.Err, io.ErrUnexpectedEOF):
			return invalidBody("the body is not valid JSON (it ends too early)")
		}
		return invalidBody(fmt.Sprintf("the body is not valid JSON (at byte %d)", syntax.ByteOffset))
	case errors.As(err, &semantic):
		field := fieldPath(dstType, semantic.JSONPointer)
		switch {
		case errors.Is(semantic.Err, json.ErrUnknownName):
			return invalidField(field, "is not a known field")
		case errors.Is(semantic.Err, errNull):
			return invalidField(field, "must not be null; leave the field out instead")
		case semantic.Err != nil && hasOwnUnmarshaler(semantic.GoType):
			break // a custom unmarshaller's own error, below
		case field == "":
			return invalidBody(fmt.Sprintf("the body must be %s, not %s", jsonKind(semantic.GoType), jsonValue(semantic)))
		default:
			return invalidField(field, fmt.Sprintf("must be %s, not %s", jsonKind(semantic.GoType), jsonValue(semantic)))
		}
	}
	// Another error of a custom UnmarshalJSON (a time that does not parse,
	// or a domain rule of the DTO). Its text may come from library code, so
	// it stays out of this answer; a translation that knows it may answer
	// it instead.
	return &StatusError{Status: http.StatusBadRequest, Detail: "the body has a value of the wrong form", Err: err}
}

// hasOwnUnmarshaler reports whether t unmarshals itself: an error met in
// such a type is its own, not one of json's type conversions.
func hasOwnUnmarshaler(t reflect.Type) bool {
	if t == nil {
		return false
	}
	p := reflect.PointerTo(t)
	return p.Implements(reflect.TypeFor[json.Unmarshaler]()) || p.Implements(reflect.TypeFor[json.UnmarshalerFrom]())
}

// fieldPath names the member at p for a client: the member names from the
// root of a value of type t joined by dots, without array indices (an
// element of "photos" is "photos"). t tells indices from names; below a
// member t does not declare, every token is taken as a name.
func fieldPath(t reflect.Type, p jsontext.Pointer) string {
	var names []string
	for tok := range p.Tokens() {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			t = t.Elem()
			continue
		}
		names = append(names, tok)
		t = memberType(t, tok)
	}
	return strings.Join(names, ".")
}

// memberType is the type of the member called name in a value of type t,
// nil when t has no such member.
func memberType(t reflect.Type, name string) reflect.Type {
	switch {
	case t == nil:
		return nil
	case t.Kind() == reflect.Map:
		return t.Elem()
	case t.Kind() != reflect.Struct:
		return nil
	}
	for _, f := range reflect.VisibleFields(t) {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name || (tag == "" && f.Name == name) {
			return f.Type
		}
	}
	return nil
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

// jsonValue names the JSON value json could not convert, with the number
// itself for a number ("number 1.5").
func jsonValue(e *json.SemanticError) string {
	switch e.JSONKind {
	case '"':
		return "string"
	case '0':
		if len(e.JSONValue) > 0 {
			return "number " + string(e.JSONValue)
		}
		return "number"
	case 't', 'f':
		return "bool"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "another value"
}

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
