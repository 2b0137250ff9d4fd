package edge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/infra/web/webtest"
)

// post returns a POST of body to path, sent as contentType.
func post(path, contentType, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	return r
}

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
			r := post("/items", "application/json", tt.body)
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
			r := post("/items", "application/json", `{}`)
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

const testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// MustEvent returns a valid test event about item 7.
func MustEvent(tb testing.TB) cloudevents.Event {
	tb.Helper()
	e := cloudevents.NewEvent()
	e.SetID("ev-1")
	e.SetType(string(events.PaymentApproved))
	e.SetSource("/carrot/pay")
	e.SetSubject("pay-1")
	e.SetTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	e.SetExtension(events.PartitionKeyExtension, "7")
	require.NoError(tb, e.SetData(cloudevents.ApplicationJSON, map[string]string{"payId": "pay-1"}))
	return e
}

// eventRequest encodes e in binary or structured mode.
func eventRequest(tb testing.TB, e cloudevents.Event, structured bool) *http.Request {
	tb.Helper()
	ctx := binding.WithForceBinary(context.Background())
	if structured {
		ctx = binding.WithForceStructured(context.Background())
	}
	r, err := cehttp.NewHTTPRequestFromEvent(ctx, "http://fn/", e)
	require.NoError(tb, err)
	return r
}

func TestEventsReadsBothModes(t *testing.T) {
	t.Parallel()
	for _, structured := range []bool{false, true} {
		t.Run(fmt.Sprintf("structured=%v", structured), func(t *testing.T) {
			t.Parallel()
			want := MustEvent(t)
			want.SetExtension(events.TraceparentExtension, testTraceparent)
			var got cloudevents.Event
			var trace string
			h := Events(func(ctx context.Context, e cloudevents.Event) error {
				got, trace = e, events.Traceparent(ctx)
				return nil
			})
			r := eventRequest(t, want, structured)
			r.Header.Set("traceparent", "00-11111111111111111111111111111111-2222222222222222-01")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Empty(t, rec.Body.String())
			assert.Equal(t, want.ID(), got.ID())
			assert.Equal(t, want.Type(), got.Type())
			assert.Equal(t, "7", got.Extensions()[events.PartitionKeyExtension])
			assert.JSONEq(t, `{"payId":"pay-1"}`, string(got.Data()))
			assert.Equal(t, "00-11111111111111111111111111111111-2222222222222222-01", trace,
				"the delivery's traceparent header wins over the event's own")
		})
	}
}

func TestEventsTraceContext(t *testing.T) {
	t.Parallel()
	withExtension := MustEvent(t)
	withExtension.SetExtension(events.TraceparentExtension, testTraceparent)
	tests := []struct {
		name   string
		event  cloudevents.Event
		header string
		want   string
	}{
		{"the header alone", MustEvent(t), testTraceparent, testTraceparent},
		{"the extension without a header", withExtension, "", testTraceparent},
		{"the extension with a malformed header", withExtension, "00-zz", testTraceparent},
		{"neither", MustEvent(t), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var trace string
			h := Events(func(ctx context.Context, _ cloudevents.Event) error {
				trace = events.Traceparent(ctx)
				return nil
			})
			r := eventRequest(t, tt.event, false)
			r.Header.Set("traceparent", tt.header)
			h.ServeHTTP(httptest.NewRecorder(), r)
			assert.Equal(t, tt.want, trace)
		})
	}
}

func TestEventsRejectsPoisonRequests(t *testing.T) {
	t.Parallel()
	posted := func(contentType, body string) func(*testing.T) *http.Request {
		return func(*testing.T) *http.Request { return post("/", contentType, body) }
	}
	binaryWithout := func(header string) func(*testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := eventRequest(t, MustEvent(t), false)
			r.Header.Del(header)
			return r
		}
	}
	tests := []struct {
		name    string
		request func(*testing.T) *http.Request
		detail  string
	}{
		{name: "plain JSON", request: posted("application/json", `{"a":1}`), detail: "not a CloudEvent"},
		{name: "batch", request: posted(cloudevents.ApplicationCloudEventsBatchJSON, `[]`), detail: "batched"},
		{name: "structured garbage", request: posted(cloudevents.ApplicationCloudEventsJSON, `{"specversion":`), detail: "not a CloudEvent"},
		{name: "structured without id", request: posted(cloudevents.ApplicationCloudEventsJSON, `{"specversion":"1.0","type":"t","source":"/s"}`), detail: "id"},
		{name: "binary without id", request: binaryWithout("Ce-Id"), detail: "id"},
		{name: "binary without source", request: binaryWithout("Ce-Source"), detail: "source"},
		{name: "too large", detail: "exceeds", request: func(t *testing.T) *http.Request {
			e := MustEvent(t)
			require.NoError(t, e.SetData(cloudevents.ApplicationJSON, strings.Repeat("x", MaxEventBytes)))
			return eventRequest(t, e, false)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			h := Events(func(context.Context, cloudevents.Event) error { called = true; return nil })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tt.request(t))
			p := webtest.MustProblem(t, rec, http.StatusBadRequest)
			assert.Contains(t, p.Detail, tt.detail)
			assert.False(t, called)
		})
	}
}

func TestEventsOnlyTakesPost(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	Events(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	webtest.MustProblem(t, rec, http.StatusMethodNotAllowed)
	assert.Equal(t, http.MethodPost, rec.Header().Get("Allow"))
}

func TestEventsRetryContract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		log    string // message of the one log line, "" for none
	}{
		{name: "handled", err: nil, status: 200},
		{name: "duplicate", err: app.ErrDuplicate, status: 200, log: "event duplicate acknowledged"},
		{name: "wrapped duplicate", err: fmt.Errorf("commit: %w", app.ErrDuplicate), status: 200, log: "event duplicate acknowledged"},
		{name: "not found", err: market.Errorf(market.NotFound, "no reservation r1"), status: 200, log: "event ignored"},
		{name: "conflict", err: market.Errorf(market.Conflict, "already completed"), status: 200, log: "event ignored"},
		{name: "forbidden", err: market.Errorf(market.Forbidden, "not the buyer"), status: 200, log: "event ignored"},
		{name: "invalid", err: market.Errorf(market.Invalid, "poison event: bad payload"), status: 400, log: "poison event dead-lettered"},
		{name: "unauthorized", err: market.Errorf(market.Unauthorized, "no actor"), status: 400, log: "poison event dead-lettered"},
		{name: "stale after retries", err: app.ErrStale, status: 503, log: "event failed; the broker will retry it"},
		{name: "unavailable", err: market.Errorf(market.Unavailable, "dynamo throttled"), status: 503, log: "event failed; the broker will retry it"},
		{name: "internal", err: market.Errorf(market.Internal, "secret"), status: 500, log: "event failed; the broker will retry it"},
		{name: "plain", err: errors.New("secret"), status: 500, log: "event failed; the broker will retry it"},
		{name: "canceled", err: context.Canceled, status: 500, log: "event failed; the broker will retry it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zap.InfoLevel)
			h := Events(func(context.Context, cloudevents.Event) error { return tt.err })
			r := eventRequest(t, MustEvent(t), false)
			r = r.WithContext(web.WithLogger(r.Context(), zap.New(core).Sugar()))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			switch {
			case tt.status == http.StatusOK:
				assert.Equal(t, http.StatusOK, rec.Code)
				assert.Empty(t, rec.Body.String())
			case tt.status >= 500:
				p := webtest.MustProblem(t, rec, tt.status)
				assert.Equal(t, web.InternalDetail, p.Detail)
			default:
				p := webtest.MustProblem(t, rec, tt.status)
				assert.Equal(t, tt.err.Error(), p.Detail, "dead letters say why")
			}
			if tt.log == "" {
				assert.Zero(t, logs.Len())
				return
			}
			require.Equal(t, 1, logs.Len())
			line := logs.All()[0]
			assert.Equal(t, tt.log, line.Message)
			assert.Equal(t, "ev-1", line.ContextMap()["ce-id"])
			assert.Equal(t, string(events.PaymentApproved), line.ContextMap()["ce-type"])
		})
	}
}
