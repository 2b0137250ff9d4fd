package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/infra/web/webtest"
)

func TestError(t *testing.T) {
	t.Parallel()
	fields := market.Fields{}
	fields.Add("price", "must be at most %d", 1000000000)
	webtest.CheckErrors(t, Error, []webtest.ErrorCase{
		{Name: "invalid with fields", Err: fields.Err(), Status: 400, Type: "invalid",
			Detail: "the request has invalid fields", Fields: []web.FieldError{{Field: "price", Message: "must be at most 1000000000"}}},
		{Name: "unauthorized", Err: market.Errorf(market.Unauthorized, "log in"), Status: 401, Type: "unauthorized",
			Detail: "log in", Header: "WWW-Authenticate", HeaderWant: `Bearer realm="carrot"`},
		{Name: "forbidden", Err: market.Errorf(market.Forbidden, "not yours"), Status: 403, Type: "forbidden", Detail: "not yours"},
		{Name: "not found", Err: market.Errorf(market.NotFound, "no item 7"), Status: 404, Type: "not-found", Detail: "no item 7"},
		{Name: "conflict wrapped", Err: fmt.Errorf("use case: %w", market.Errorf(market.Conflict, "item is reserved")),
			Status: 409, Type: "conflict", Detail: "item is reserved"},
		{Name: "unavailable", Err: market.Errorf(market.Unavailable, "try later"), Status: 503, Type: "unavailable",
			Detail: "try later", Header: "Retry-After", HeaderWant: "2"},
		{Name: "market internal hides its message", Err: market.Errorf(market.Internal, "dynamo: secret table arn"),
			Status: 500, Type: "internal", Detail: web.InternalDetail},
		{Name: "plain error hides its text", Err: errors.New("operation error DynamoDB: PutItem, https response error"),
			Status: 500, Type: "internal", Detail: web.InternalDetail},
		{Name: "unknown market code", Err: &market.Error{Code: "weird", Message: "x"}, Status: 500, Type: "internal", Detail: web.InternalDetail},
		{Name: "status error 413", Err: &web.StatusError{Status: 413, Detail: "the body exceeds 65536 bytes"},
			Status: 413, Type: "payload-too-large", Detail: "the body exceeds 65536 bytes"},
		{Name: "status error with title", Err: &web.StatusError{Status: 415, Title: "Not JSON", Detail: "send JSON"},
			Status: 415, Type: "unsupported-media-type", Detail: "send JSON"},
		{Name: "status error wrapping a market error", Err: &web.StatusError{Status: 400, Detail: "wrong form", Err: fields.Err()},
			Status: 400, Type: "invalid", Detail: "the request has invalid fields",
			Fields: []web.FieldError{{Field: "price", Message: "must be at most 1000000000"}}},
	})
}

func TestErrorKeepsAChallengeSetBefore(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	rec.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	Error(rec, httptest.NewRequest(http.MethodGet, "/", nil), market.Errorf(market.Unauthorized, "x"))
	assert.Equal(t, `Bearer error="invalid_token"`, rec.Header().Get("WWW-Authenticate"))
}

// validated reports its own rule as a market error, as DTOs may.
type validated string

func (v *validated) UnmarshalJSON(b []byte) error {
	if string(b) == `"bad"` {
		var f market.Fields
		f.Add("code", "must not be bad")
		return f.Err()
	}
	if string(b) == `"broken"` {
		return market.Errorf(market.Internal, "secret")
	}
	*v = validated(strings.Trim(string(b), `"`))
	return nil
}

// TestDecodeRule checks that a market error of a DTO's own rule, met by
// web.Decode, is answered as that error.
func TestDecodeRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body   string
		status int
		field  string
	}{
		{body: `{"code":"ok"}`, status: 200},
		{body: `{"code":"bad"}`, status: 400, field: "code"},
		{body: `{"code":"broken"}`, status: 500},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/items", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			var in struct {
				Code validated `json:"code"`
			}
			if err := web.Decode(r, &in); err != nil {
				Error(rec, r, err)
			} else {
				web.JSON(rec, http.StatusOK, in)
			}
			if tt.status == http.StatusOK {
				assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				return
			}
			p := webtest.MustProblem(t, rec, tt.status)
			if tt.field == "" {
				assert.Empty(t, p.Errors)
				return
			}
			require.Len(t, p.Errors, 1)
			assert.Equal(t, tt.field, p.Errors[0].Field)
			assert.Equal(t, "must not be bad", p.Errors[0].Message)
		})
	}
}

// failingStore is an IdempotencyStore whose Begin fails with err.
type failingStore struct{ err error }

func (s failingStore) Begin(context.Context, string, string, time.Duration) (*web.StoredResponse, error) {
	return nil, s.err
}
func (failingStore) Finish(context.Context, string, web.StoredResponse) error { return nil }
func (failingStore) Abort(context.Context, string) error                      { return nil }

func TestIdempotentStoreFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		header string
	}{
		{name: "store unavailable", err: market.Errorf(market.Unavailable, "try later"), status: 503, header: "Retry-After"},
		{name: "store broken", err: errors.New("dynamo exploded"), status: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runs := 0
			h := Idempotent(failingStore{tt.err})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { runs++ }))
			r := httptest.NewRequest(http.MethodPost, "/items", bytes.NewReader([]byte(`{}`)))
			r.Header.Set(web.IdempotencyKeyHeader, "k")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r.WithContext(web.WithUserID(r.Context(), "u1")))
			webtest.MustProblem(t, rec, tt.status)
			if tt.header != "" {
				assert.NotEmpty(t, rec.Header().Get(tt.header))
			}
			assert.Zero(t, runs)
		})
	}
}
