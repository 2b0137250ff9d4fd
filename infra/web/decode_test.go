package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listing is a realistic request DTO: strings, integers, a slice, a
// pointer, a nested object and a field with its own unmarshaller.
type listing struct {
	Name     string    `json:"name"`
	Price    int64     `json:"price"`
	Photos   []string  `json:"photos"`
	Region   *string   `json:"region"`
	Meeting  *meeting  `json:"meeting"`
	Quantity int       `json:"quantity"`
	Code     validated `json:"code"`
	Stops    []meeting `json:"stops"`
}

type meeting struct {
	Date string `json:"date"`
	Time string `json:"time"`
}

// validated reports its own rule as a *StatusError, as DTOs may; infra/edge
// tests a rule reported as a market error.
type validated string

func (v *validated) UnmarshalJSON(b []byte) error {
	if string(b) == `"bad"` {
		return invalidField("code", "must not be bad")
	}
	*v = validated(strings.Trim(string(b), `"`))
	return nil
}

// decodeHandler answers 200 with the decoded DTO, or the decode problem.
func decodeHandler(w http.ResponseWriter, r *http.Request) {
	var in listing
	if err := Decode(r, &in); err != nil {
		Error(w, r, err)
		return
	}
	JSON(w, http.StatusOK, in)
}

func serveDecode(contentType string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/items", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	decodeHandler(rec, r)
	return rec
}

func TestDecode(t *testing.T) {
	t.Parallel()
	const jsonType = "application/json"
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		detail      string // substring of the problem's detail
		field       string // the field the problem names, if any
		message     string // substring of that field's message
	}{
		{name: "valid", contentType: jsonType, status: 200,
			body: `{"name":"desk","price":1000,"photos":["a"],"region":"seoul","meeting":{"date":"2025-01-02"}}`},
		{name: "charset utf-8", contentType: "application/json; charset=UTF-8", body: `{"name":"desk"}`, status: 200},
		{name: "trailing whitespace", contentType: jsonType, body: "{\"name\":\"desk\"}\n\r\t ", status: 200},
		{name: "no content type", body: `{}`, status: 415, detail: "application/json"},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: `name=desk`, status: 415},
		{name: "text", contentType: "text/plain", body: `{}`, status: 415},
		{name: "json suffix type", contentType: "application/problem+json", body: `{}`, status: 415},
		{name: "latin1 charset", contentType: "application/json; charset=latin1", body: `{}`, status: 415, detail: "utf-8"},
		{name: "bad media type", contentType: "application/json; ===", body: `{}`, status: 415},
		{name: "too large", contentType: jsonType, status: 413, detail: "65536",
			body: `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`},
		{name: "too large and malformed", contentType: jsonType, body: "{" + strings.Repeat(" ", MaxBodyBytes), status: 413},
		{name: "empty", contentType: jsonType, body: ``, status: 400, detail: "empty"},
		{name: "blank", contentType: jsonType, body: "  \n", status: 400, detail: "empty"},
		{name: "null", contentType: jsonType, body: `null`, status: 400, detail: "null"},
		{name: "malformed", contentType: jsonType, body: `{"name":}`, status: 400, detail: "not valid JSON"},
		{name: "truncated", contentType: jsonType, body: `{"name":"desk"`, status: 400, detail: "not valid JSON"},
		{name: "trailing object", contentType: jsonType, body: `{"name":"a"}{"name":"b"}`, status: 400, detail: "exactly one"},
		{name: "trailing garbage", contentType: jsonType, body: `{"name":"a"} x`, status: 400, detail: "exactly one"},
		{name: "trailing bracket", contentType: jsonType, body: `{"name":"a"}]`, status: 400, detail: "exactly one"},
		{name: "array body", contentType: jsonType, body: `[1]`, status: 400, detail: "must be an object"},
		{name: "string for int", contentType: jsonType, body: `{"price":"1000"}`, status: 400,
			field: "price", message: "must be an integer in range, not string"},
		{name: "fraction for int", contentType: jsonType, body: `{"price":1.5}`, status: 400,
			field: "price", message: "not number 1.5"},
		{name: "overflow", contentType: jsonType, body: `{"quantity":1e40}`, status: 400, field: "quantity"},
		{name: "number for string", contentType: jsonType, body: `{"name":1}`, status: 400,
			field: "name", message: "must be a string, not number"},
		{name: "object for slice", contentType: jsonType, body: `{"photos":{}}`, status: 400,
			field: "photos", message: "must be an array"},
		{name: "number in slice", contentType: jsonType, body: `{"photos":["a",2]}`, status: 400, field: "photos"},
		{name: "nested wrong type", contentType: jsonType, body: `{"meeting":{"date":5}}`, status: 400,
			field: "meeting.date", message: "must be a string"},
		{name: "pointer wrong type", contentType: jsonType, body: `{"region":true}`, status: 400,
			field: "region", message: "not bool"},
		{name: "unknown field", contentType: jsonType, body: `{"name":"a","colour":"red"}`, status: 400,
			field: "colour", message: "not a known field"},
		{name: "unknown nested field", contentType: jsonType, body: `{"meeting":{"place":"x"}}`, status: 400,
			field: "meeting.place", message: "not a known field"},
		{name: "unknown field in an array", contentType: jsonType, body: `{"stops":[{"date":"a"},{"place":"x"}]}`, status: 400,
			field: "stops.place", message: "not a known field"},
		{name: "unknown field named by digits", contentType: jsonType, body: `{"1":2}`, status: 400,
			field: "1", message: "not a known field"},
		{name: "wrong case", contentType: jsonType, body: `{"Price":500}`, status: 400,
			field: "Price", message: "not a known field"},
		{name: "every name in capitals", contentType: jsonType, body: `{"NAME":"desk","PRICE":500}`, status: 400,
			field: "NAME", message: "not a known field"},
		{name: "wrong case nested", contentType: jsonType, body: `{"meeting":{"Date":"2025-01-02"}}`, status: 400,
			field: "meeting.Date", message: "not a known field"},
		{name: "duplicate key", contentType: jsonType, body: `{"price":1,"price":2}`, status: 400,
			field: "price", message: "more than once"},
		{name: "duplicate nested key", contentType: jsonType, body: `{"meeting":{"date":"a","date":"b"}}`, status: 400,
			field: "meeting.date", message: "more than once"},
		{name: "duplicate unknown key", contentType: jsonType, body: `{"colour":1,"colour":2}`, status: 400, field: "colour"},
		{name: "null integer", contentType: jsonType, body: `{"price":null}`, status: 400, field: "price", message: "must not be null"},
		{name: "null string", contentType: jsonType, body: `{"name":null}`, status: 400, field: "name", message: "must not be null"},
		{name: "null pointer", contentType: jsonType, body: `{"region":null}`, status: 400, field: "region", message: "must not be null"},
		{name: "null object", contentType: jsonType, body: `{"meeting":null}`, status: 400, field: "meeting", message: "must not be null"},
		{name: "null nested", contentType: jsonType, body: `{"meeting":{"date":null}}`, status: 400, field: "meeting.date", message: "must not be null"},
		{name: "null array", contentType: jsonType, body: `{"photos":null}`, status: 400, field: "photos", message: "must not be null"},
		{name: "null in an array", contentType: jsonType, body: `{"photos":["a",null]}`, status: 400, field: "photos", message: "must not be null"},
		{name: "null for a custom unmarshaller", contentType: jsonType, body: `{"code":null}`, status: 400, field: "code", message: "must not be null"},
		{name: "invalid UTF-8", contentType: jsonType, body: "{\"name\":\"\xff\"}", status: 400, detail: "UTF-8"},
		{name: "lone surrogate", contentType: jsonType, body: `{"name":"\ud800"}`, status: 400, detail: "not valid JSON"},
		{name: "dto rule", contentType: jsonType, body: `{"code":"bad"}`, status: 400, field: "code", message: "must not be bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := serveDecode(tt.contentType, []byte(tt.body))
			if tt.status == http.StatusOK {
				assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				return
			}
			p := mustProblem(t, rec, tt.status)
			assert.Contains(t, p.Detail, tt.detail)
			if tt.field == "" {
				assert.Empty(t, p.Errors)
				return
			}
			require.Len(t, p.Errors, 1)
			assert.Equal(t, tt.field, p.Errors[0].Field)
			assert.Contains(t, p.Errors[0].Message, tt.message)
		})
	}
}

func TestDecodeFillsTheDTO(t *testing.T) {
	t.Parallel()
	body := `{"name":"desk","price":0,"photos":["a","b"],"region":"seoul/mapo","meeting":{"date":"2025-01-02","time":"10:00"},"code":"ok"}`
	r := httptest.NewRequest(http.MethodPost, "/items", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	var in listing
	require.NoError(t, Decode(r, &in))
	region := "seoul/mapo"
	assert.Equal(t, listing{Name: "desk", Photos: []string{"a", "b"}, Region: &region,
		Meeting: &meeting{Date: "2025-01-02", Time: "10:00"}, Code: "ok"}, in)
}

// FuzzDecode feeds arbitrary bodies and content types through a handler
// using Decode and checks that the answer is never a 5xx and always one of
// the documented statuses.
func FuzzDecode(f *testing.F) {
	seeds := []struct{ contentType, body string }{
		{"application/json", `{"name":"desk","price":1000,"photos":["a","b"],"region":"seoul","meeting":{"date":"2025-01-02","time":"10:00"},"quantity":2,"code":"x"}`},
		{"application/json", `{"price":"1"}`},
		{"application/json", `{"price":1e400}`},
		{"application/json", `{"photos":[null,{"a":1}]}`},
		{"application/json", `{"meeting":null,"region":null}`},
		{"application/json", `{"code":"bad"}`},
		{"application/json", `{"a":1}`},
		{"application/json", `[]`},
		{"application/json", `"str"`},
		{"application/json", `null`},
		{"application/json", `{"name":"\ud800"}`},
		{"application/json", "{\"name\":\"\xff\xfe\"}"},
		{"application/json", `{"name":"a"} {"name":"b"}`},
		{"application/json", `{{{{`},
		{"application/json", ``},
		{"application/json; charset=utf-8", `{}`},
		{"application/json; charset=\"", `{}`},
		{"text/plain", `{}`},
		{"", `{}`},
		{"multipart/form-data; boundary=x", "--x\r\n\r\n--x--"},
	}
	for _, s := range seeds {
		f.Add(s.contentType, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		rec := serveDecode(contentType, body)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			if rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d without a problem body", rec.Code)
			}
		default:
			t.Fatalf("status %d for %q %q: %s", rec.Code, contentType, body, rec.Body.String())
		}
	})
}
