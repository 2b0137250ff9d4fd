package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/carrot-market/carrot/infra/web"
)

// This file holds what the tests that speak raw HTTP to a real listener
// share: the edge tests and FuzzGatewayRawRequests.

// testOrigin is the one browser origin the gateways of these tests allow.
const testOrigin = "https://app.carrot.example"

// fakeTargets are the functions behind the gateway in the raw tests. pay
// is reached over the network through Proxies, and dies mid-request: its
// connection is reset. mypage's activator answers as Knative's does when
// it cannot reach an instance: 502 in plain text, with an address. Every
// other function answers what reached it (echoTargets).
type fakeTargets struct {
	pay http.Handler
}

func (f fakeTargets) Handler(function string) http.Handler {
	switch function {
	case "pay":
		return f.pay
	case "mypage":
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "dial tcp 10.0.0.7:8012: connect: connection refused", http.StatusBadGateway)
		})
	}
	return echoTargets{}.Handler(function)
}

// mustFakeTargets starts pay's server, which resets every connection.
func mustFakeTargets(tb testing.TB) fakeTargets {
	tb.Helper()
	pay := httptest.NewServer(http.HandlerFunc(resetConnection))
	tb.Cleanup(pay.Close)
	p, err := NewProxies(Config{FunctionURL: pay.URL + "/" + NamePlaceholder})
	require.NoError(tb, err)
	return fakeTargets{pay: p.Handler("pay")}
}

// resetConnection is a function that dies mid-request: it resets the
// connection without answering.
func resetConnection(w http.ResponseWriter, _ *http.Request) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.(*net.TCPConn).SetLinger(0)
		_ = conn.Close()
	}
}

// mustListen serves h on a real listener with carrot's server limits
// (web.NewServer), changed by tune when it is not nil, and returns its
// address. The server logs nothing.
func mustListen(tb testing.TB, h http.Handler, tune func(*http.Server)) string {
	tb.Helper()
	log := zap.NewNop().Sugar()
	srv := web.NewServer(h, log)
	srv.BaseContext = func(net.Listener) context.Context { return web.WithLogger(context.Background(), log) }
	if tune != nil {
		tune(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// answer is one response read off a raw connection, its body read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// errHang is what exchange returns when the server neither answered nor
// closed the connection in time.
var errHang = errors.New("the server neither answered nor closed the connection")

// exchange writes raw to a new connection to addr and reads every answer
// until the server closes the connection, for at most within. With
// halfClose it then closes its side for writing, as a client that has
// nothing more to send, so a request cut short ends at once rather than at
// a timeout. Pitfall: Go's server takes that for a client that went away
// and cancels the request's context once its body is read, so a request
// that goes on to a function over the network then fails; send a complete
// request with Connection: close instead. A write may fail when the server
// closes first (it answered a header flood, say); what it answered is
// still read.
func exchange(addr string, raw []byte, halfClose bool, within time.Duration) ([]answer, error) {
	conn, err := clientDialer().Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(within)); err != nil {
		return nil, err
	}
	_, _ = conn.Write(raw)
	if halfClose {
		_ = conn.(*net.TCPConn).CloseWrite()
	}
	got, err := io.ReadAll(conn)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return nil, errHang
	}
	return parseAnswers(methodsOf(raw), got)
}

// clients counts the connections of exchange.
var clients atomic.Uint32

// clientDialer returns the dialer of the next connection of exchange. The
// side that closes a TCP connection first keeps its address and port in
// TIME_WAIT for a minute, and a fuzzer that half-closes thousands of
// connections a second runs out of ports in seconds, after which every
// dial fails. On Linux, where all of 127.0.0.0/8 is the loopback, each
// connection comes from the next of 250 loopback addresses instead.
func clientDialer() *net.Dialer {
	if runtime.GOOS != "linux" {
		return &net.Dialer{}
	}
	n := clients.Add(1)
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, byte(n/250%250), byte(2+n%250))}}
}

// methodsOf lists the methods of the requests in raw that Go's parser
// reads, in order: an answer to HEAD has no body, whatever its
// Content-Length says.
func methodsOf(raw []byte) []string {
	var methods []string
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return methods
		}
		methods = append(methods, req.Method)
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return methods
		}
	}
}

// parseAnswers reads the answers in got to the requests of methods; an
// interim (1xx) answer is skipped. An answer that does not parse, or whose
// body does not, is an error. Pitfall: Go's server answers a request it
// cannot parse by itself, with a body up to the end of the connection
// even to a HEAD, and no request id; such an answer takes the rest of got.
func parseAnswers(methods []string, got []byte) ([]answer, error) {
	br := bufio.NewReader(bytes.NewReader(got))
	var answers []answer
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return answers, nil
		}
		req := &http.Request{Method: http.MethodGet}
		if len(answers) < len(methods) {
			req.Method = methods[len(answers)]
		}
		res, err := http.ReadResponse(br, req)
		if err != nil {
			return answers, fmt.Errorf("answer %d is malformed: %w in %q", len(answers)+1, err, got)
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			return answers, fmt.Errorf("the body of answer %d is malformed: %w in %q", len(answers)+1, err, got)
		}
		switch {
		case res.StatusCode < http.StatusOK:
		case res.Header.Get(web.RequestIDHeader) == "" && res.Header.Get("Content-Length") == "":
			rest, _ := io.ReadAll(br)
			return append(answers, answer{status: res.StatusCode, header: res.Header, body: append(body, rest...)}), nil
		default:
			answers = append(answers, answer{status: res.StatusCode, header: res.Header, body: body})
		}
	}
}
