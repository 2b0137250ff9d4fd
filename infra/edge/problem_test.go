package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/web"
)

// mustProblem checks that rec holds a problem+json answer with status and
// returns its body.
func mustProblem(tb testing.TB, rec *httptest.ResponseRecorder, status int) web.Problem {
	tb.Helper()
	require.Equal(tb, status, rec.Code, "body: %s", rec.Body.String())
	require.Equal(tb, "application/problem+json", rec.Header().Get("Content-Type"))
	var p web.Problem
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(tb, status, p.Status)
	assert.NotEmpty(tb, p.Title)
	assert.Regexp(tb, `^https://carrot\.dev/problems/[a-z-]+$`, p.Type)
	return p
}

func TestError(t *testing.T) {
	t.Parallel()
	fields := market.Fields{}
	fields.Add("price", "must be at most %d", 1000000000)
	tests := []struct {
		name       string
		err        error
		status     int
		typ        string
		detail     string
		fields     []web.FieldError
		header     string
		headerWant string
	}{
		{name: "invalid with fields", err: fields.Err(), status: 400, typ: "invalid",
			detail: "the request has invalid fields", fields: []web.FieldError{{Field: "price", Message: "must be at most 1000000000"}}},
		{name: "unauthorized", err: market.Errorf(market.Unauthorized, "log in"), status: 401, typ: "unauthorized",
			detail: "log in", header: "WWW-Authenticate", headerWant: `Bearer realm="carrot"`},
		{name: "forbidden", err: market.Errorf(market.Forbidden, "not yours"), status: 403, typ: "forbidden", detail: "not yours"},
		{name: "not found", err: market.Errorf(market.NotFound, "no item 7"), status: 404, typ: "not-found", detail: "no item 7"},
		{name: "conflict wrapped", err: fmt.Errorf("use case: %w", market.Errorf(market.Conflict, "item is reserved")),
			status: 409, typ: "conflict", detail: "item is reserved"},
		{name: "unavailable", err: market.Errorf(market.Unavailable, "try later"), status: 503, typ: "unavailable",
			detail: "try later", header: "Retry-After", headerWant: "2"},
		{name: "market internal hides its message", err: market.Errorf(market.Internal, "dynamo: secret table arn"),
			status: 500, typ: "internal", detail: web.InternalDetail},
		{name: "plain error hides its text", err: errors.New("operation error DynamoDB: PutItem, https response error"),
			status: 500, typ: "internal", detail: web.InternalDetail},
		{name: "unknown market code", err: &market.Error{Code: "weird", Message: "x"}, status: 500, typ: "internal", detail: web.InternalDetail},
		{name: "status error 413", err: &web.StatusError{Status: 413, Detail: "the body exceeds 65536 bytes"},
			status: 413, typ: "payload-too-large", detail: "the body exceeds 65536 bytes"},
		{name: "status error with title", err: &web.StatusError{Status: 415, Title: "Not JSON", Detail: "send JSON"},
			status: 415, typ: "unsupported-media-type", detail: "send JSON"},
		{name: "status error wrapping a market error", err: &web.StatusError{Status: 400, Detail: "wrong form", Err: fields.Err()},
			status: 400, typ: "invalid", detail: "the request has invalid fields",
			fields: []web.FieldError{{Field: "price", Message: "must be at most 1000000000"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zap.DebugLevel)
			r := httptest.NewRequest(http.MethodGet, "/items/7", nil)
			r = r.WithContext(web.WithLogger(r.Context(), zap.New(core).Sugar()))
			rec := httptest.NewRecorder()

			Error(rec, r, tt.err)

			p := mustProblem(t, rec, tt.status)
			assert.Equal(t, web.ProblemType+tt.typ, p.Type)
			assert.Equal(t, tt.detail, p.Detail)
			assert.Equal(t, tt.fields, p.Errors)
			if tt.header != "" {
				assert.Equal(t, tt.headerWant, rec.Header().Get(tt.header))
			}
			if tt.status >= 500 {
				assert.NotContains(t, rec.Body.String(), "dynamo")
				assert.NotContains(t, rec.Body.String(), "DynamoDB")
				require.Equal(t, 1, logs.Len(), "a hidden error must be logged")
				assert.Equal(t, tt.err.Error(), logs.All()[0].ContextMap()["error"])
			} else {
				assert.Zero(t, logs.Len())
			}
		})
	}
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
			p := mustProblem(t, rec, tt.status)
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
			mustProblem(t, rec, tt.status)
			if tt.header != "" {
				assert.NotEmpty(t, rec.Header().Get(tt.header))
			}
			assert.Zero(t, runs)
		})
	}
}
