package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memoryStore is an in-memory IdempotencyStore for unit tests. Leases do
// not expire; a held key stays held until Finish or Abort.
type memoryStore struct {
	mu       sync.Mutex
	held     map[string]string // key -> fingerprint of the running request
	done     map[string]StoredResponse
	beginErr error
	finishes int
	aborts   int
}

func newMemoryStore() *memoryStore {
	return &memoryStore{held: map[string]string{}, done: map[string]StoredResponse{}}
}

func (m *memoryStore) Begin(_ context.Context, key, fingerprint string, lease time.Duration) (*StoredResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.beginErr != nil {
		return nil, m.beginErr
	}
	if lease <= 0 {
		return nil, errors.New("no lease")
	}
	if s, ok := m.done[key]; ok {
		return &s, nil
	}
	if _, ok := m.held[key]; ok {
		return nil, ErrInProgress
	}
	m.held[key] = fingerprint
	return nil, nil
}

func (m *memoryStore) Finish(_ context.Context, key string, resp StoredResponse) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.held, key)
	m.done[key] = resp
	m.finishes++
	return nil
}

func (m *memoryStore) Abort(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.held, key)
	m.aborts++
	return nil
}

func (m *memoryStore) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ks []string
	for k := range m.done {
		ks = append(ks, k)
	}
	return ks
}

// counting is a handler that creates a resource and counts its runs.
type counting struct {
	runs   atomic.Int32
	status int
	body   string // the body it saw
	mu     sync.Mutex
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := c.runs.Add(1)
	var in struct {
		Name string `json:"name"`
	}
	if err := Decode(r, &in); err != nil {
		Error(w, r, err)
		return
	}
	c.mu.Lock()
	c.body = in.Name
	c.mu.Unlock()
	if c.status >= 400 {
		Error(w, r, &StatusError{Status: c.status, Detail: "failed"})
		return
	}
	w.Header().Set("Location", "/items/"+in.Name)
	w.Header().Set("X-Run", "yes")
	JSON(w, http.StatusCreated, map[string]any{"name": in.Name, "run": n})
}

func idemRequest(user, key, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/items", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if key != "" {
		r.Header.Set(IdempotencyKeyHeader, key)
	}
	if user != "" {
		r = r.WithContext(WithUserID(r.Context(), user))
	}
	return r
}

// newIdempotent returns a fresh store, a counting handler, and the
// handler Idempotent makes of both.
func newIdempotent() (*memoryStore, *counting, http.Handler) {
	store, handler := newMemoryStore(), &counting{}
	return store, handler, Idempotent(store, Error)(handler)
}

func serveIdem(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestIdempotentReplaysTheFirstAnswer(t *testing.T) {
	t.Parallel()
	_, handler, h := newIdempotent()

	first := serveIdem(h, idemRequest("u1", "k-1", `{"name":"desk"}`))
	require.Equal(t, http.StatusCreated, first.Code)
	assert.Empty(t, first.Header().Get(ReplayedHeader))
	assert.Equal(t, "yes", first.Header().Get("X-Run"))

	again := serveIdem(h, idemRequest("u1", "k-1", `{"name":"desk"}`))
	assert.Equal(t, http.StatusCreated, again.Code)
	assert.Equal(t, "true", again.Header().Get(ReplayedHeader))
	assert.Equal(t, "/items/desk", again.Header().Get("Location"))
	assert.Equal(t, "application/json", again.Header().Get("Content-Type"))
	assert.Empty(t, again.Header().Get("X-Run"), "only Content-Type and Location are stored")
	assert.Equal(t, first.Body.String(), again.Body.String())
	assert.EqualValues(t, 1, handler.runs.Load())
}

func TestIdempotentScopes(t *testing.T) {
	t.Parallel()
	store, handler, h := newIdempotent()

	serveIdem(h, idemRequest("u1", "k", `{"name":"a"}`))
	other := serveIdem(h, idemRequest("u2", "k", `{"name":"a"}`))
	assert.Empty(t, other.Header().Get(ReplayedHeader), "another user's key is another key")

	r := idemRequest("u1", "k", `{"name":"a"}`)
	r.URL.Path = "/reviews"
	otherPath := serveIdem(h, r)
	assert.Empty(t, otherPath.Header().Get(ReplayedHeader), "another path's key is another key")

	// A user id that looks like a scope cannot reach another user's key.
	forged := serveIdem(h, idemRequest(`u1" POST /items k`, "x", `{"name":"a"}`))
	assert.Empty(t, forged.Header().Get(ReplayedHeader))

	assert.EqualValues(t, 4, handler.runs.Load())
	assert.Len(t, store.keys(), 4)
}

func TestIdempotentWithoutKeyRunsEveryTime(t *testing.T) {
	t.Parallel()
	store, handler, h := newIdempotent()
	for range 3 {
		rec := serveIdem(h, idemRequest("u1", "", `{"name":"a"}`))
		assert.Equal(t, http.StatusCreated, rec.Code)
	}
	assert.EqualValues(t, 3, handler.runs.Load())
	assert.Empty(t, store.keys())
}

func TestIdempotentRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		keys    []string
		body    string
		prepare func(*memoryStore)
		status  int
		field   string
		header  string
	}{
		{name: "key too long", keys: []string{strings.Repeat("k", 256)}, body: `{}`, status: 400, field: IdempotencyKeyHeader},
		{name: "key with control character", keys: []string{"k\x01"}, body: `{}`, status: 400, field: IdempotencyKeyHeader},
		{name: "key not ascii", keys: []string{"키"}, body: `{}`, status: 400, field: IdempotencyKeyHeader},
		{name: "two keys", keys: []string{"a", "b"}, body: `{}`, status: 400, field: IdempotencyKeyHeader},
		{name: "body too large", keys: []string{"k"}, body: `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, status: 413},
		{name: "in progress", keys: []string{"k"}, body: `{}`, status: 409, header: "Retry-After",
			prepare: func(m *memoryStore) { m.held[`"u1" POST /items k`] = "x" }},
		{name: "store unavailable", keys: []string{"k"}, body: `{}`, status: 503, header: "Retry-After",
			prepare: func(m *memoryStore) {
				m.beginErr = &StatusError{Status: http.StatusServiceUnavailable, Detail: "try later"}
			}},
		{name: "store broken", keys: []string{"k"}, body: `{}`, status: 500,
			prepare: func(m *memoryStore) { m.beginErr = errors.New("dynamo exploded") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, handler := newMemoryStore(), &counting{}
			if tt.prepare != nil {
				tt.prepare(store)
			}
			r := idemRequest("u1", "", tt.body)
			for _, k := range tt.keys {
				r.Header.Add(IdempotencyKeyHeader, k)
			}
			rec := serveIdem(Idempotent(store, Error)(handler), r)
			p := mustProblem(t, rec, tt.status)
			if tt.field != "" {
				require.Len(t, p.Errors, 1)
				assert.Equal(t, tt.field, p.Errors[0].Field)
			}
			if tt.header != "" {
				assert.NotEmpty(t, rec.Header().Get(tt.header))
			}
			assert.Zero(t, handler.runs.Load())
		})
	}
}

func TestIdempotentKeyReusedWithAnotherBody(t *testing.T) {
	t.Parallel()
	_, handler, h := newIdempotent()
	serveIdem(h, idemRequest("u1", "k", `{"name":"desk"}`))
	rec := serveIdem(h, idemRequest("u1", "k", `{"name":"chair"}`))
	p := mustProblem(t, rec, http.StatusUnprocessableEntity)
	assert.Equal(t, ProblemType+"idempotency-key-reused", p.Type)
	assert.EqualValues(t, 1, handler.runs.Load())
}

func TestIdempotentStoresClientErrorsAndAbortsServerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status   int
		runs     int32
		replayed bool
	}{
		{status: http.StatusConflict, runs: 1, replayed: true},
		{status: http.StatusNotFound, runs: 1, replayed: true},
		{status: http.StatusInternalServerError, runs: 2},
		{status: http.StatusServiceUnavailable, runs: 2},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			store, handler := newMemoryStore(), &counting{status: tt.status}
			h := Idempotent(store, Error)(handler)
			first := serveIdem(h, idemRequest("u1", "k", `{"name":"a"}`))
			assert.Equal(t, tt.status, first.Code)
			second := serveIdem(h, idemRequest("u1", "k", `{"name":"a"}`))
			assert.Equal(t, tt.status, second.Code)
			assert.Equal(t, tt.replayed, second.Header().Get(ReplayedHeader) == "true")
			assert.Equal(t, tt.runs, handler.runs.Load())
		})
	}
}

func TestIdempotentHandsTheBodyOn(t *testing.T) {
	t.Parallel()
	store, handler := newMemoryStore(), &counting{}
	serveIdem(Idempotent(store, Error)(handler), idemRequest("u1", "k", `{"name":"lamp"}`))
	assert.Equal(t, "lamp", handler.body)
}

func TestIdempotentAbortsAfterAPanic(t *testing.T) {
	t.Parallel()
	store := newMemoryStore()
	h := Idempotent(store, Error)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	assert.Panics(t, func() { serveIdem(h, idemRequest("u1", "k", `{}`)) })
	assert.Equal(t, 1, store.aborts)
	assert.Empty(t, store.held, "the key is free for a retry")
}

func TestIdempotentConcurrentRetriesRunOnce(t *testing.T) {
	t.Parallel()
	store := newMemoryStore()
	release := make(chan struct{})
	var runs atomic.Int32
	h := Idempotent(store, Error)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		runs.Add(1)
		<-release
		JSON(w, http.StatusCreated, map[string]string{"ok": "yes"})
	}))
	firstDone := make(chan *httptest.ResponseRecorder)
	go func() { firstDone <- serveIdem(h, idemRequest("u1", "k", `{}`)) }()
	require.Eventually(t, func() bool { return runs.Load() == 1 }, time.Second, time.Millisecond)

	racing := serveIdem(h, idemRequest("u1", "k", `{}`))
	mustProblem(t, racing, http.StatusConflict)

	close(release)
	assert.Equal(t, http.StatusCreated, (<-firstDone).Code)
	assert.EqualValues(t, 1, runs.Load())
}
