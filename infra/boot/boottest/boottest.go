// Package boottest runs carrot's functions in a test, over real HTTP and on
// DynamoDB Local: one httptest server per function, all on one fresh set of
// tables, and a sink that routes the events they publish to the functions
// whose triggers take them, as a broker would. It stands in for the local
// runtime's Kafka broker in component tests; the end-to-end tests in tests/
// use the real one.
package boottest

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/functions/rest"
	"github.com/carrot-market/carrot/infra/boot"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
	"github.com/carrot-market/carrot/infra/outbox"
	"github.com/carrot-market/carrot/infra/web"
)

// System is carrot's functions running in one test.
type System struct {
	Store *dynamo.Store
	Auth  *web.Auth
	// URL maps a function name to its base URL.
	URL map[string]string
	// Gateway serves every REST route, like the local gateway on :8088.
	Gateway string

	sink *sink
}

// Option changes how NewSystem wires the functions.
type Option func(*options)

type options struct {
	deliver bool
	outage  *SinkOutage
}

// WithoutDelivery keeps published events in the sink's log instead of
// delivering them to consumers, for tests of one function's output.
func WithoutDelivery() Option { return func(o *options) { o.deliver = false } }

// NewSystem starts every function on fresh tables. Events are delivered to
// their consumers synchronously before the publishing request answers, so
// a test sees the whole chain of effects as soon as a command returns.
//
// It marks t parallel, as the end-to-end tests' MustStart does: a System
// shares nothing with another, and a test waiting for the others to end
// before creating its tables would only add up their times. So a test
// that calls NewSystem must not call t.Parallel itself.
func NewSystem(t *testing.T, opts ...Option) *System {
	t.Helper()
	t.Parallel()
	o := options{deliver: true}
	for _, opt := range opts {
		opt(&o)
	}
	store := dynamotest.MustStore(t)
	auth, err := web.NewAuth(secret, market.IsUserID)
	require.NoError(t, err)

	s := &System{Store: store, Auth: auth, URL: map[string]string{}, sink: &sink{routes: map[events.Type][]string{}, deliver: o.deliver}}
	sinkSrv := httptest.NewServer(o.outage.guard(s.sink))
	t.Cleanup(sinkSrv.Close)

	// Each function gets its own publisher, as each process has in
	// production: one shared publisher would make a relay wait on itself
	// when the sink delivers synchronously.
	publisher := func() *outbox.Publisher {
		cfg := outbox.Config{Sink: sinkSrv.URL, RetryBackoff: time.Millisecond}
		if o.outage != nil {
			// The test decides when the broker is back and what sends the
			// waiting events then (the relay): no background drain races it.
			cfg.DrainFor = -1
		}
		pub, err := outbox.New(store, cfg)
		require.NoError(t, err)
		return pub
	}
	for _, f := range consumersFirst(registry.All) {
		deps := boot.Deps{Store: store, Auth: auth, Publisher: publisher()}
		srv := httptest.NewServer(boot.Handler(f, deps))
		t.Cleanup(srv.Close)
		s.URL[f.Name] = srv.URL
		if f.Consumes != nil {
			for _, typ := range f.Consumes.Types() {
				s.sink.routes[typ] = append(s.sink.routes[typ], srv.URL)
			}
		}
	}
	gw := web.NewRouter()
	api := &rest.Handler{App: &app.Service{Store: store, Views: store, Publisher: publisher(), Source: "/carrot/gateway"}}
	for _, f := range registry.All {
		api.Mount(gw, f.Routes, auth, store)
	}
	gwSrv := httptest.NewServer(gw)
	t.Cleanup(gwSrv.Close)
	s.Gateway = gwSrv.URL
	return s
}

// consumersFirst orders fns so that the sink hands each event to the
// consumers that react with nothing (the MyPage projector) before the
// policies, whose reactions it delivers at once, within the same call: a
// view then applies a fact before the facts it causes, in the order of
// the sink's log.
func consumersFirst(fns []registry.Function) []registry.Function {
	ordered := slices.Clone(fns)
	slices.SortStableFunc(ordered, func(a, b registry.Function) int { return min(len(a.Emits), 1) - min(len(b.Emits), 1) })
	return ordered
}

// secret is the key every System's Auth signs and verifies tokens with.
var secret = []byte("boottest-secret-of-at-least-32-bytes!")

// Token returns a bearer token for userID.
func (s *System) Token(tb testing.TB, userID string) string {
	tb.Helper()
	tok, err := s.Auth.Issue(userID, time.Hour)
	require.NoError(tb, err)
	return tok
}

// TokenExpiring returns a bearer token for userID, signed as Token's are,
// that expires at exp, which may be past: for the expired tokens the API
// must refuse, which Auth does not issue.
func (s *System) TokenExpiring(tb testing.TB, userID string, exp time.Time) string {
	tb.Helper()
	return SignToken(tb, secret, userID, exp)
}

// SignToken returns an HS256 token for userID that expires at exp, signed
// with key: with any key but a System's, a token the API must refuse.
func SignToken(tb testing.TB, key []byte, userID string, exp time.Time) string {
	tb.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: userID, IssuedAt: jwt.NewNumericDate(exp.Add(-2 * time.Hour)), ExpiresAt: jwt.NewNumericDate(exp),
	}).SignedString(key)
	require.NoError(tb, err)
	return tok
}
