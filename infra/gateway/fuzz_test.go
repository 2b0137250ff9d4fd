package gateway

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/web"
)

// fuzzSeeds are raw requests of the kinds a hostile client sends: chunked
// encodings good and broken, header floods, bodies cut short or too long,
// smuggling attempts, pipelines, preflights, and the routes whose function
// dies or is unreachable.
func fuzzSeeds() []string {
	const host = "Host: carrot\r\n"
	post := func(headers, body string) string { return "POST /items HTTP/1.1\r\n" + host + headers + "\r\n" + body }
	return []string{
		"GET /items?limit=5 HTTP/1.1\r\n" + host + "\r\n",
		"HEAD /items/id-1 HTTP/1.1\r\n" + host + "\r\n",
		"GET /payments/p-1 HTTP/1.1\r\n" + host + "Authorization: Bearer t\r\n\r\n",
		"GET /myPages HTTP/1.1\r\n" + host + "\r\n",
		post("Content-Type: application/json\r\nContent-Length: 13\r\n", `{"name":"tv"}`),
		post("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
		post("Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"),
		post("Transfer-Encoding: chunked\r\n", "5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n"),
		post("Transfer-Encoding: chunked\r\n", "ffffffffffffffff\r\nhello\r\n"),
		post("Transfer-Encoding: chunked\r\n", "5\r\nhel"),
		post("Transfer-Encoding: gzip, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
		post("Transfer-Encoding: gzip\r\n", "hello"),
		post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nGET /admin HTTP/1.1\r\n"+host+"\r\n"),
		post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
		post("Content-Length: 100\r\n", "short"),
		post("Content-Length: -1\r\n", ""),
		post(fmt.Sprintf("Content-Length: %d\r\n", web.MaxBodyBytes+1), strings.Repeat("a", web.MaxBodyBytes+1)),
		post("Expect: 100-continue\r\nContent-Length: 5\r\n", "hello"),
		post("Expect: teapot\r\nContent-Length: 5\r\n", "hello"),
		"GET /items HTTP/1.1\r\n" + host + strings.Repeat("X-Flood: a\r\n", 8000) + "\r\n",
		"GET /items HTTP/1.1\r\n" + host + "X-Flood: " + strings.Repeat("a", web.MaxHeaderBytes+8<<10) + "\r\n\r\n",
		"GET /items HTTP/1.1\r\n" + host + "\r\nPOST /reviews HTTP/1.1\r\n" + host + "Content-Length: 2\r\n\r\n{}HEAD /items HTTP/1.1\r\n" + host + "\r\n",
		"OPTIONS /items/id-1 HTTP/1.1\r\n" + host + "Origin: " + testOrigin + "\r\nAccess-Control-Request-Method: PATCH\r\nAccess-Control-Request-Headers: authorization\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\n" + host + "\r\n",
		"GET /items HTTP/1.0\r\n\r\n",
		"GET http://evil.example//items/../admin HTTP/1.1\r\n" + host + "\r\n",
		"GET //items/./id-1 HTTP/1.1\r\n" + host + "\r\n",
		"GET /items HTTP/2.0\r\n" + host + "\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET /items HTTP/1.1\n" + "Host: carrot\n\n",
		"G\x00T /items HTTP/1.1\r\n" + host + "\r\n",
		"GET /items HTTP/1.1\r\n" + host + "X-Request-Id: a\r\nX-Request-Id: b\r\ntraceparent: 00-zz\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	}
}

// FuzzGatewayRawRequests writes arbitrary bytes as raw HTTP to a real
// listener of the gateway, with carrot's server limits and fake functions
// behind it (fakeTargets: one that answers, one that dies mid-request over
// the network, one whose platform answers 502), and holds every answer to
// the edge's guarantees (checkAnswer): it parses, with a whole body, and
// the connection ends within seconds.
func FuzzGatewayRawRequests(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add([]byte(seed))
	}
	addr := mustListen(f, New(mustFakeTargets(f), []string{testOrigin}), nil)
	f.Fuzz(func(t *testing.T, raw []byte) {
		answers, err := exchange(addr, raw, true, 10*time.Second)
		require.NoError(t, err, "%q", raw)
		for _, a := range answers {
			checkAnswer(t, raw, a)
		}
	})
}

// internals matches what no answer may show of the inside: addresses and
// Go's or the platform's error text.
var internals = regexp.MustCompile(`10\.0\.0\.7|127\.0\.0\.1|dial|tcp|reset|refused|EOF`)

// checkAnswer holds one answer to raw to the edge's guarantees. An answer
// of the gateway carries a request id and is 2xx, 4xx, a 301 to a cleaned
// path, or a 503 problem with Retry-After that shows nothing of the
// inside: never another 5xx. An answer without one is Go's server's own,
// to a request it could not parse, before any handler: 4xx, 501 for a
// transfer coding it does not implement, 505 for an HTTP version it does
// not speak (RFC 9112, 6.1 and RFC 9110, 15.6.6), or 200 to OPTIONS *.
func checkAnswer(t *testing.T, raw []byte, a answer) {
	t.Helper()
	if a.header.Get(web.RequestIDHeader) == "" {
		assert.True(t, a.status/100 == 4 || a.status == http.StatusNotImplemented || a.status == http.StatusHTTPVersionNotSupported ||
			a.status == http.StatusOK, "Go's server answered %d %q to %q", a.status, a.body, raw)
		return
	}
	switch {
	case a.status/100 == 2, a.status/100 == 4:
	case a.status == http.StatusMovedPermanently:
		assert.NotEmpty(t, a.header.Get("Location"), "%q", raw)
	case a.status == http.StatusServiceUnavailable:
		assert.Equal(t, "application/problem+json", a.header.Get("Content-Type"), "%q", raw)
		assert.NotEmpty(t, a.header.Get("Retry-After"), "%q", raw)
		assert.NotRegexp(t, internals, string(a.body), "%q", raw)
	default:
		t.Errorf("the gateway answered %d %q to %q", a.status, a.body, raw)
	}
}
