package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/infra/web/webtest"
)

// echoTargets stands in for the functions: each answers with its own name
// and what reached it.
type echoTargets struct{}

type echo struct {
	Function      string `json:"function"`
	Method        string `json:"method"`
	Path          string `json:"path"`
	Query         string `json:"query"`
	RequestID     string `json:"requestId"`
	Body          string `json:"body"`
	ContentLength int64  `json:"contentLength"`
}

func (echoTargets) Handler(function string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			web.WriteProblem(w, web.NewProblem(http.StatusBadRequest, "the fake could not read the body"))
			return
		}
		web.JSON(w, http.StatusOK, echo{Function: function, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			RequestID: r.Header.Get(web.RequestIDHeader), Body: string(body), ContentLength: r.ContentLength})
	})
}

// pathParam matches a path variable of a route, such as {itemId}.
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func mustEcho(t *testing.T, rec *httptest.ResponseRecorder) echo {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var e echo
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
	return e
}

func TestGatewayRoutesEveryRouteToItsFunction(t *testing.T) {
	t.Parallel()
	gw := New(echoTargets{}, nil)
	routes := registry.Routes()
	require.NotEmpty(t, routes)
	for rt, f := range routes {
		path := pathParam.ReplaceAllString(rt.Path, "id-1")
		for _, method := range rt.Methods() {
			t.Run(method+" "+rt.Path, func(t *testing.T) {
				t.Parallel()
				got := mustEcho(t, serve(gw, httptest.NewRequest(method, path+"?limit=5", nil)))
				assert.Equal(t, echo{Function: f.Name, Method: method, Path: path, Query: "limit=5", RequestID: got.RequestID}, got)
			})
		}
	}
}

func TestGatewayAnswersWhatNoFunctionServes(t *testing.T) {
	t.Parallel()
	gw := New(echoTargets{}, nil)
	cases := []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"an unknown path", http.MethodGet, "/admin", http.StatusNotFound, ""},
		{"an event endpoint", http.MethodPost, "/", http.StatusNotFound, ""},
		{"a probe", http.MethodGet, web.ReadinessPath, http.StatusNotFound, ""},
		{"a known path with another method", http.MethodPut, "/items/id-1", http.StatusMethodNotAllowed, "DELETE, GET, HEAD, PATCH"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := serve(gw, httptest.NewRequest(tt.method, tt.path, nil))
			webtest.MustProblem(t, rec, tt.status)
			assert.Equal(t, tt.allow, rec.Header().Get("Allow"))
			assert.NotEmpty(t, rec.Header().Get(web.RequestIDHeader), "every answer carries a request id")
		})
	}
}

func TestGatewayGivesEveryRequestAnID(t *testing.T) {
	t.Parallel()
	gw := New(echoTargets{}, nil)
	cases := []struct {
		name string
		sent []string // the X-Request-Id headers of the request
		kept bool     // whether the function and the caller see the first
	}{
		{"none", nil, false},
		{"the caller's", []string{"req-7f3a:1"}, true},
		{"the caller's UUID", []string{"0b7d5e4c-31a2-4f3c-9d1e-2f5a6b7c8d9e"}, true},
		{"of the longest length", []string{strings.Repeat("a", maxRequestIDLength)}, true},
		{"too long", []string{strings.Repeat("a", maxRequestIDLength+1)}, false},
		{"with a space", []string{"a b"}, false},
		{"with a control character", []string{"a\tb"}, false},
		{"not ASCII", []string{"id-é"}, false},
		{"two of them", []string{"one", "two"}, false},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/items", nil)
			for _, id := range tt.sent {
				r.Header.Add(web.RequestIDHeader, id)
			}
			before := r.Header.Clone()
			rec := serve(gw, r)
			got := mustEcho(t, rec)
			assert.Equal(t, got.RequestID, rec.Header().Get(web.RequestIDHeader), "the answer carries the id the function saw")
			if tt.kept {
				assert.Equal(t, tt.sent[0], got.RequestID)
			} else {
				_, err := uuid.Parse(got.RequestID)
				assert.NoError(t, err, "a new id is a UUID: %q", got.RequestID)
			}
			assert.Equal(t, before, r.Header, "the caller's request is not changed")
		})
	}
}

// mustProxies returns the gateway in front of proxies whose function URL
// is base followed by the function's name as the first path segment.
func mustProxies(t *testing.T, base string) http.Handler {
	t.Helper()
	p, err := NewProxies(Config{FunctionURL: base + "/" + NamePlaceholder})
	require.NoError(t, err)
	return New(p, nil)
}

func TestGatewayProxiesToTheFunctionsURL(t *testing.T) {
	t.Parallel()
	var seen *http.Request
	var body string
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("Location", "/payments/p-1")
		web.JSON(w, http.StatusCreated, map[string]string{"payId": "p-1"})
	}))
	t.Cleanup(fn.Close)
	gw := mustProxies(t, fn.URL)

	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := httptest.NewRequest(http.MethodPost, "http://api.carrot.example/payments?x=1", strings.NewReader(`{"rsvId":"r-1"}`))
	r.RemoteAddr = "203.0.113.9:4711"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer t")
	r.Header.Set("traceparent", traceparent)
	r.Header.Set(web.IdempotencyKeyHeader, "k-1")
	rec := serve(gw, r)

	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"payId":"p-1"}`, rec.Body.String())
	assert.Equal(t, "/payments/p-1", rec.Header().Get("Location"), "the function's headers come back")
	require.NotNil(t, seen)
	assert.Equal(t, "/pay/payments", seen.URL.Path, "pay owns POST /payments")
	assert.Equal(t, "x=1", seen.URL.RawQuery)
	assert.Equal(t, strings.TrimPrefix(fn.URL, "http://"), seen.Host, "the function's own host, which Knative routes by")
	assert.Equal(t, `{"rsvId":"r-1"}`, body)
	for _, h := range []string{"Content-Type", "Authorization", "traceparent", web.IdempotencyKeyHeader} {
		assert.Equal(t, r.Header.Get(h), seen.Header.Get(h), h)
	}
	assert.Equal(t, rec.Header().Get(web.RequestIDHeader), seen.Header.Get(web.RequestIDHeader))
	assert.Equal(t, "203.0.113.9", seen.Header.Get("X-Forwarded-For"))
	assert.Equal(t, "api.carrot.example", seen.Header.Get("X-Forwarded-Host"))
}

// problemOf is a function that answers status with detail, as carrot's
// functions do, and the Retry-After retryAfter when it is not empty.
func problemOf(status int, detail, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		web.WriteProblem(w, web.NewProblem(status, detail))
	}
}

// handlerTargets serves every function with one in-process handler, as the
// local runtime's activators do.
type handlerTargets struct{ h http.Handler }

func (t handlerTargets) Handler(string) http.Handler { return t.h }

// TestGatewayAnswersForAFunctionOnlyWhenItCannot passes the functions' own
// problems as they are, and answers a 503 of its own, with Retry-After, a
// detail that tells nothing of the inside and none of the headers of what
// answered, when the function cannot be reached, fails mid-request, or the
// platform in front of it answers: over the network (Proxies, in a
// cluster) and in process (the local runtime's activators), unless
// network says the case needs a connection.
func TestGatewayAnswersForAFunctionOnlyWhenItCannot(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	const own = "the function's own words"
	cases := []struct {
		name       string
		function   http.HandlerFunc // nil: nothing listens
		network    bool
		status     int
		detail     string
		retryAfter string
	}{
		{"nothing listens", nil, true, http.StatusServiceUnavailable, UnavailableDetail, "2"},
		{"the connection is reset mid-request", resetConnection, true, http.StatusServiceUnavailable, UnavailableDetail, "2"},
		{"the local activator timed out", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Instance", "127.0.0.1:40123")
			web.WriteProblem(w, web.NewProblem(http.StatusGatewayTimeout, "no instance of pay took the request within 30s"))
		}, false, http.StatusServiceUnavailable, UnavailableDetail, "2"},
		{"the platform answers 502", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "dial tcp 127.0.0.1:8012: connect: connection refused", http.StatusBadGateway)
		}, false, http.StatusServiceUnavailable, UnavailableDetail, "2"},
		{"the platform answers 503", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream connect error or disconnect/reset before headers, 127.0.0.1", http.StatusServiceUnavailable)
		}, false, http.StatusServiceUnavailable, UnavailableDetail, "2"},
		{"the platform answers 504", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "activator request timeout at 127.0.0.1", http.StatusGatewayTimeout)
		}, false, http.StatusServiceUnavailable, UnavailableDetail, "2"},
		{"the function is overloaded", problemOf(http.StatusServiceUnavailable, own, "5"), false, http.StatusServiceUnavailable, own, "5"},
		{"the function answers 404", problemOf(http.StatusNotFound, own, ""), false, http.StatusNotFound, own, ""},
		{"the function answers 409", problemOf(http.StatusConflict, own, ""), false, http.StatusConflict, own, ""},
		{"the function answers 500", problemOf(http.StatusInternalServerError, own, ""), false, http.StatusInternalServerError, own, ""},
	}
	for _, tt := range cases {
		for _, network := range []bool{true, false} {
			if tt.network && !network {
				continue
			}
			t.Run(fmt.Sprintf("%s, %s", tt.name, map[bool]string{true: "over the network", false: "in process"}[network]), func(t *testing.T) {
				t.Parallel()
				gw := New(handlerTargets{tt.function}, nil)
				if network {
					base := closed.URL
					if tt.function != nil {
						fn := httptest.NewServer(tt.function)
						t.Cleanup(fn.Close)
						base = fn.URL
					}
					gw = mustProxies(t, base)
				}
				rec := serve(gw, httptest.NewRequest(http.MethodGet, "/items/id-1", nil))
				p := webtest.MustProblem(t, rec, tt.status)
				assert.Equal(t, tt.detail, p.Detail)
				assert.Equal(t, tt.retryAfter, rec.Header().Get("Retry-After"))
				assert.NotContains(t, rec.Body.String(), "127.0.0.1")
				assert.Empty(t, rec.Header().Get("X-Instance"), "none of the headers of what answered")
				assert.NotEmpty(t, rec.Header().Get(web.RequestIDHeader), "the gateway's own headers stay")
			})
		}
	}
}

func TestGatewayConfigValidates(t *testing.T) {
	t.Parallel()
	valid := map[string]bool{
		"http://{function}.carrot.svc.cluster.local":  true,
		"https://{function}.carrot.svc.cluster.local": true,
		"http://127.0.0.1:8089/functions/{function}":  true,
		"":                                    false,
		"http://pay.carrot.svc.cluster.local": false,
		"{function}.carrot.svc.cluster.local": false,
		"ftp://{function}.carrot":             false,
		"http://{function}.carrot?x=1":        false,
		"http:///{function}":                  false,
	}
	for url, ok := range valid {
		t.Run(url, func(t *testing.T) {
			t.Parallel()
			_, err := NewProxies(Config{FunctionURL: url})
			if ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, FunctionURLEnv)
			}
		})
	}
}
