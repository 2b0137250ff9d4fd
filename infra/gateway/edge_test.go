package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/web"
)

// TestEdgeSetsItsHeadersOnEveryAnswer checks the security headers on every
// answer, Cache-Control: no-store exactly on the answers to requests with
// an Authorization header, and Strict-Transport-Security exactly on the
// answers to requests that came over HTTPS.
func TestEdgeSetsItsHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	gw := New(mustFakeTargets(t), []string{testOrigin})
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"a function's answer", http.MethodGet, "/items/id-1", http.StatusOK},
		{"a function's answer over the network", http.MethodGet, "/payments/p-1", http.StatusServiceUnavailable},
		{"the gateway's 503", http.MethodGet, "/myPages", http.StatusServiceUnavailable},
		{"an unknown path", http.MethodGet, "/admin", http.StatusNotFound},
		{"another method", http.MethodPut, "/items/id-1", http.StatusMethodNotAllowed},
		{"HEAD", http.MethodHead, "/items/id-1", http.StatusOK},
	}
	for _, tt := range tests {
		for _, authorized := range []bool{false, true} {
			for _, https := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s, authorized %t, https %t", tt.name, authorized, https), func(t *testing.T) {
					t.Parallel()
					r := httptest.NewRequest(tt.method, tt.path, nil)
					if authorized {
						r.Header.Set("Authorization", "Bearer t")
					}
					if https {
						r.Header.Set("X-Forwarded-Proto", "https")
					}
					rec := serve(gw, r)
					require.Equal(t, tt.status, rec.Code, rec.Body.String())
					for k, v := range securityHeaders {
						assert.Equal(t, []string{v}, rec.Header().Values(k), k)
					}
					assert.Equal(t, authorized, rec.Header().Get("Cache-Control") == "no-store", "Cache-Control: %q", rec.Header().Get("Cache-Control"))
					assert.Equal(t, https, rec.Header().Get("Strict-Transport-Security") == hstsHeader)
					assert.NotEmpty(t, rec.Header().Get(web.RequestIDHeader))
					assert.Contains(t, rec.Header().Values("Vary"), "Origin")
				})
			}
		}
	}
}

// TestEdgeOverridesAFunctionsCacheControl keeps no-store on an
// authenticated answer whatever the function said.
func TestEdgeOverridesAFunctionsCacheControl(t *testing.T) {
	t.Parallel()
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		web.JSON(w, http.StatusOK, map[string]string{"payId": "p-1"})
	}))
	t.Cleanup(fn.Close)
	r := httptest.NewRequest(http.MethodGet, "/payments/p-1", nil)
	r.Header.Set("Authorization", "Bearer t")

	rec := serve(mustProxies(t, fn.URL), r)

	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, []string{"no-store"}, rec.Header().Values("Cache-Control"))
	assert.Equal(t, []string{"nosniff"}, rec.Header().Values("X-Content-Type-Options"), "the function's own is not doubled")
}

func TestEdgeAnswersCORS(t *testing.T) {
	t.Parallel()
	const wildcard = "http://localhost:*"
	tests := []struct {
		name    string
		origins []string
		method  string // OPTIONS is a preflight, of a PATCH
		origin  string
		headers string // Access-Control-Request-Headers of a preflight
		allowed bool
	}{
		{"a preflight from an allowed origin", []string{testOrigin}, http.MethodOptions, testOrigin, "authorization,content-type,idempotency-key,traceparent,x-request-id", true},
		{"a preflight without headers", []string{testOrigin}, http.MethodOptions, testOrigin, "", true},
		{"a preflight from any port of a wildcard", []string{wildcard}, http.MethodOptions, "http://localhost:5173", "authorization", true},
		{"a preflight from another origin", []string{testOrigin}, http.MethodOptions, "https://evil.example", "authorization", false},
		{"a preflight for a header the API does not take", []string{testOrigin}, http.MethodOptions, testOrigin, "x-evil", false},
		{"a preflight when no origin is allowed", nil, http.MethodOptions, testOrigin, "authorization", false},
		{"a request from an allowed origin", []string{testOrigin}, http.MethodGet, testOrigin, "", true},
		{"a request from another origin", []string{testOrigin}, http.MethodGet, "https://evil.example", "", false},
		{"a request from the wildcard's scheme", []string{wildcard}, http.MethodGet, "https://localhost:5173", "", false},
		{"a request when no origin is allowed", nil, http.MethodGet, testOrigin, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gw := New(echoTargets{}, tt.origins)
			r := httptest.NewRequest(tt.method, "/items/id-1", nil)
			r.Header.Set("Origin", tt.origin)
			preflight := tt.method == http.MethodOptions
			if preflight {
				r.Header.Set("Access-Control-Request-Method", http.MethodPatch)
				if tt.headers != "" {
					r.Header.Set("Access-Control-Request-Headers", tt.headers)
				}
			}
			rec := serve(gw, r)
			h := rec.Header()
			assert.Contains(t, strings.Join(h.Values("Vary"), ","), "Origin")
			if preflight {
				assert.Equal(t, http.StatusNoContent, rec.Code, "a preflight never reaches a function")
				assert.Empty(t, rec.Body.String())
			} else {
				assert.Equal(t, http.StatusOK, rec.Code)
			}
			if !tt.allowed {
				for k := range h {
					assert.NotContains(t, k, "Access-Control-", "a disallowed origin gets no CORS header")
				}
				return
			}
			assert.Equal(t, tt.origin, h.Get("Access-Control-Allow-Origin"))
			assert.Empty(t, h.Get("Access-Control-Allow-Credentials"))
			if preflight {
				assert.Equal(t, http.MethodPatch, h.Get("Access-Control-Allow-Methods"))
				assert.Equal(t, tt.headers, h.Get("Access-Control-Allow-Headers"))
				assert.Equal(t, "600", h.Get("Access-Control-Max-Age"))
			} else {
				assert.Equal(t, "Location, Retry-After, X-Request-Id", h.Get("Access-Control-Expose-Headers"))
			}
		})
	}
}

func TestParseOrigins(t *testing.T) {
	t.Parallel()
	valid := map[string][]string{
		"":                           nil,
		" ,":                         nil,
		"https://app.carrot.example": {"https://app.carrot.example"},
		"http://localhost:*, http://127.0.0.1:8080": {"http://localhost:*", "http://127.0.0.1:8080"},
		"https://*.carrot.example":                  {"https://*.carrot.example"},
	}
	for s, want := range valid {
		got, err := ParseOrigins(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"*", "https://*", "app.carrot.example", "ftp://app.carrot.example", "https://app.carrot.example/",
		"https://app.carrot.example/path", "https://user@app.carrot.example", "https://*.*.example", "https://a, http://"} {
		_, err := ParseOrigins(s)
		assert.ErrorContains(t, err, CORSOriginsEnv, s)
	}
}

// TestEdgeAnswersBadBodiesItself sends bodies that cannot be read whole,
// raw, to a real listener of a gateway that proxies to a function over
// the network: each is the caller's 4xx, answered by the gateway before
// the function sees it (not a 503 for a function that could not be
// reached), and a good chunked body reaches the function whole.
func TestEdgeAnswersBadBodiesItself(t *testing.T) {
	t.Parallel()
	fn := httptest.NewServer(echoTargets{}.Handler("register-item"))
	t.Cleanup(fn.Close)
	addr := mustListen(t, mustProxies(t, fn.URL), nil)
	const head = "POST /items HTTP/1.1\r\nHost: carrot\r\nContent-Type: application/json\r\n"
	big := strings.Repeat("a", web.MaxBodyBytes+1)
	tests := []struct {
		name   string
		raw    string
		status int
	}{
		{"a good chunked body", head + "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", http.StatusOK},
		{"an invalid chunk length", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", http.StatusBadRequest},
		{"a chunk longer than said", head + "Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", http.StatusBadRequest},
		{"a chunked body cut short", head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhel", http.StatusBadRequest},
		{"a body shorter than its length", head + "Content-Length: 10\r\n\r\nhello", http.StatusBadRequest},
		{"a length over the limit", head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(big)) + big, http.StatusRequestEntityTooLarge},
		{"a chunked body over the limit", head + "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			answers, err := exchange(addr, []byte(tt.raw), tt.status != http.StatusOK, 10*time.Second)
			require.NoError(t, err)
			require.Len(t, answers, 1)
			a := answers[0]
			require.Equal(t, tt.status, a.status, "%s", a.body)
			if tt.status == http.StatusOK {
				assert.Contains(t, string(a.body), `"body":"hello","contentLength":5`, "the function gets the body whole, with its length")
				return
			}
			assert.Equal(t, "application/problem+json", a.header.Get("Content-Type"))
			assert.NotContains(t, string(a.body), "chunk")
		})
	}
}

// TestEdgeBoundsSlowClients checks that the server's limits end what a
// slow or flooding client holds: a body sent a byte at a time is cut off
// at ReadTimeout with a 408, and a header flood is answered 431 without
// reaching the gateway.
func TestEdgeBoundsSlowClients(t *testing.T) {
	t.Parallel()
	const readTimeout = 500 * time.Millisecond
	addr := mustListen(t, New(echoTargets{}, nil), func(s *http.Server) { s.ReadTimeout = readTimeout })

	t.Run("a slow body", func(t *testing.T) {
		t.Parallel()
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		start := time.Now()
		_, err = conn.Write([]byte("POST /items HTTP/1.1\r\nHost: carrot\r\nContent-Length: 100\r\n\r\n"))
		require.NoError(t, err)
		for range 20 {
			if _, err := conn.Write([]byte("a")); err != nil {
				break // The server answered and closed.
			}
			time.Sleep(readTimeout / 5)
		}
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		require.NoError(t, err)
		answers, err := parseAnswers([]string{http.MethodPost}, buf[:n])
		require.NoError(t, err)
		require.Len(t, answers, 1)
		assert.Equal(t, http.StatusRequestTimeout, answers[0].status, "%s", answers[0].body)
		assert.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("a header flood", func(t *testing.T) {
		t.Parallel()
		flood := "GET /items HTTP/1.1\r\nHost: carrot\r\n" + strings.Repeat("X-Flood: "+strings.Repeat("a", 1000)+"\r\n", web.MaxHeaderBytes/1000+8) + "\r\n"
		answers, err := exchange(addr, []byte(flood), true, 10*time.Second)
		require.NoError(t, err)
		require.Len(t, answers, 1)
		assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, answers[0].status)
	})
}
