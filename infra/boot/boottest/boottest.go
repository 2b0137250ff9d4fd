// Package boottest runs carrot's functions in a test, over real HTTP and on
// DynamoDB Local: one httptest server per function, all on one fresh set of
// tables, and a sink that routes the events they publish to the functions
// whose triggers take them, as a broker would. It stands in for the local
// runtime's Kafka broker in component tests; the end-to-end tests in tests/
// use the real one.
package boottest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
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
func NewSystem(tb testing.TB, opts ...Option) *System {
	tb.Helper()
	o := options{deliver: true}
	for _, opt := range opts {
		opt(&o)
	}
	store := dynamotest.MustStore(tb)
	auth, err := web.NewAuth([]byte("boottest-secret-of-at-least-32-bytes!"), market.IsUserID)
	require.NoError(tb, err)

	s := &System{Store: store, Auth: auth, URL: map[string]string{}, sink: &sink{routes: map[events.Type][]string{}, deliver: o.deliver}}
	sinkSrv := httptest.NewServer(o.outage.guard(s.sink))
	tb.Cleanup(sinkSrv.Close)

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
		require.NoError(tb, err)
		return pub
	}
	for _, f := range consumersFirst(registry.All) {
		deps := boot.Deps{Store: store, Auth: auth, Publisher: publisher()}
		srv := httptest.NewServer(boot.Handler(f, deps))
		tb.Cleanup(srv.Close)
		s.URL[f.Name] = srv.URL
		if f.Consumes != nil {
			for _, t := range f.Consumes.Types() {
				s.sink.routes[t] = append(s.sink.routes[t], srv.URL)
			}
		}
	}
	gw := web.NewRouter()
	api := &rest.Handler{App: &app.Service{Store: store, Views: store, Publisher: publisher(), Source: "/carrot/gateway"}}
	for _, f := range registry.All {
		api.Mount(gw, f.Routes, auth, store)
	}
	gwSrv := httptest.NewServer(gw)
	tb.Cleanup(gwSrv.Close)
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

// Token returns a bearer token for userID.
func (s *System) Token(tb testing.TB, userID string) string {
	tb.Helper()
	tok, err := s.Auth.Issue(userID, time.Hour)
	require.NoError(tb, err)
	return tok
}

// Events returns every event published so far, in order of arrival.
func (s *System) Events() []cloudevents.Event {
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	return append([]cloudevents.Event(nil), s.sink.log...)
}

// EventsOf returns the published events of type t.
func (s *System) EventsOf(t events.Type) []cloudevents.Event {
	var out []cloudevents.Event
	for _, e := range s.Events() {
		if e.Type() == string(t) {
			out = append(out, e)
		}
	}
	return out
}

// Deliver posts e to the function called name, as its trigger would, in
// binary mode, and returns the status it answered. It requires an answer,
// so call it from the test's goroutine; elsewhere use SendEvent.
func (s *System) Deliver(tb testing.TB, name string, e cloudevents.Event) int {
	tb.Helper()
	status, err := post(context.Background(), s.URL[name], e)
	require.NoError(tb, err)
	return status
}

// Response is an answer of the API.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map, failing the test when it is not JSON.
func (r Response) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// Do calls the API at base (a function's URL or the gateway) as userID
// ("" sends no token). body is marshalled as JSON unless it is a string,
// which is sent as it is.
func (s *System) Do(tb testing.TB, base, userID, method, path string, body any, header ...string) Response {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(tb, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, rd)
	require.NoError(tb, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if userID != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token(tb, userID))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(tb, err)
	return Response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// sink is a broker stand-in: it logs every event and, when deliver is on,
// posts it to each consumer whose trigger takes its type before answering.
type sink struct {
	routes  map[events.Type][]string
	deliver bool

	mu  sync.Mutex
	log []cloudevents.Event
}

func (k *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	k.mu.Lock()
	k.log = append(k.log, *e)
	k.mu.Unlock()
	if k.deliver {
		for _, url := range k.routes[events.Type(e.Type())] {
			status, err := post(r.Context(), url, *e)
			if err != nil || status >= 300 {
				http.Error(w, "a consumer failed", http.StatusBadGateway)
				return
			}
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

func post(ctx context.Context, url string, e cloudevents.Event) (int, error) {
	req, err := cehttp.NewHTTPRequestFromEvent(ctx, url, e)
	if err != nil {
		return 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}
