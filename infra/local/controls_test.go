package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/broker"
	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/infra/web"
)

// fakeFunctions stands in for *serving.Serving behind the gateway: it
// knows one function, "pay", and records what the controls asked.
type fakeFunctions struct {
	rolloutEnv map[string]string
	rolloutErr error
	outage     []bool
	forwarded  []string // method and path of what reached pay's activator
}

func (f *fakeFunctions) Handler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name != "pay" {
			web.WriteProblem(w, web.NewProblem(http.StatusNotFound, "no function is called "+name))
			return
		}
		f.forwarded = append(f.forwarded, r.Method+" "+r.URL.Path)
		web.JSON(w, http.StatusOK, map[string]int{"pid": 42})
	})
}

func (f *fakeFunctions) Rollout(_ context.Context, name string, env map[string]string) (serving.RolloutResult, error) {
	if name != "pay" {
		return serving.RolloutResult{}, fmt.Errorf("serving: %w: %s", serving.ErrUnknownFunction, name)
	}
	f.rolloutEnv = env
	if f.rolloutErr != nil {
		return serving.RolloutResult{}, f.rolloutErr
	}
	return serving.RolloutResult{Function: name, Revision: "pay-00002", Previous: "pay-00001"}, nil
}

func (f *fakeFunctions) SetOutage(name string, on bool) error {
	if name != "pay" {
		return fmt.Errorf("serving: %w: %s", serving.ErrUnknownFunction, name)
	}
	f.outage = append(f.outage, on)
	return nil
}

type fakeKafka struct {
	err error
	ups []bool
}

func (k *fakeKafka) SetKafka(up bool) error {
	k.ups = append(k.ups, up)
	return k.err
}

// fakeLetters re-drives what it is told to, and fails with err.
type fakeLetters struct {
	result broker.RedriveResult
	err    error
	calls  int
}

func (l *fakeLetters) Redrive(context.Context) (broker.RedriveResult, error) {
	l.calls++
	return l.result, l.err
}

func mustGateway(t *testing.T, fns Functions, kafka KafkaSwitch, letters ...*fakeLetters) http.Handler {
	t.Helper()
	auth, err := web.NewAuth([]byte(strings.Repeat("k", web.MinSecretBytes)), market.IsUserID)
	require.NoError(t, err)
	status := func() any { return map[string]any{"kafka": KafkaStatus{Up: true}} }
	var l DeadLetters = &fakeLetters{}
	if len(letters) > 0 {
		l = letters[0]
	}
	return Gateway(fns, kafka, l, auth, status, LocalOrigins)
}

// call sends a request to gw and returns the status, the header and the
// JSON object of the answer.
func call(t *testing.T, gw http.Handler, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	var out map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	return rec.Code, rec.Header(), out
}

func TestControlRoutes(t *testing.T) {
	t.Parallel()
	fns, kafka := &fakeFunctions{}, &fakeKafka{}
	gw := mustGateway(t, fns, kafka)

	status, _, out := call(t, gw, http.MethodPost, "/_local/functions/pay/rollout", `{"env":{"COLOR":"blue"}}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{"function": "pay", "revision": "pay-00002", "previous": "pay-00001"}, out)
	assert.Equal(t, map[string]string{"COLOR": "blue"}, fns.rolloutEnv)
	status, _, _ = call(t, gw, http.MethodPost, "/_local/functions/pay/rollout", "")
	assert.Equal(t, http.StatusOK, status, "the body is optional")
	assert.Nil(t, fns.rolloutEnv)

	status, _, out = call(t, gw, http.MethodPost, "/_local/functions/pay/outage", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{"function": "pay", "outage": true}, out)
	status, _, out = call(t, gw, http.MethodDelete, "/_local/functions/pay/outage", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{"function": "pay", "outage": false}, out)
	assert.Equal(t, []bool{true, false}, fns.outage)

	status, _, out = call(t, gw, http.MethodPost, "/_local/functions/pay/unhealthy", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{"pid": float64(42)}, out)
	assert.Equal(t, []string{"POST " + web.DevUnhealthyPath}, fns.forwarded, "through the function's activator")

	status, _, out = call(t, gw, http.MethodPost, "/_local/kafka/down", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{"up": false}, out)
	status, _, _ = call(t, gw, http.MethodPost, "/_local/kafka/up", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, []bool{false, true}, kafka.ups)

	status, _, out = call(t, gw, http.MethodPost, "/auth/dev-token", `{"userId":"당근"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "당근", out["userId"])
	assert.NotEmpty(t, out["token"])

	status, _, out = call(t, gw, http.MethodGet, "/_local/status", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{"up": true, "external": false}, out["kafka"])
}

func TestControlRoutesRefusals(t *testing.T) {
	t.Parallel()
	fns := &fakeFunctions{rolloutErr: &serving.RolloutError{Function: "pay", Revision: "pay-00002", Previous: "pay-00001", Cause: errors.New("not ready within 30s")}}
	gw := mustGateway(t, fns, &fakeKafka{err: ErrExternalKafka})
	tests := []struct {
		method, path, body string
		status             int
		detail             string
	}{
		{http.MethodPost, "/_local/functions/nobody/rollout", "", http.StatusNotFound, "nobody"},
		{http.MethodPost, "/_local/functions/nobody/outage", "", http.StatusNotFound, "nobody"},
		{http.MethodDelete, "/_local/functions/nobody/outage", "", http.StatusNotFound, "nobody"},
		{http.MethodPost, "/_local/functions/nobody/unhealthy", "", http.StatusNotFound, "nobody"},
		{http.MethodPost, "/_local/functions/pay/rollout", "", http.StatusServiceUnavailable, "pay-00001 keeps serving"},
		{http.MethodPost, "/_local/functions/pay/rollout", `{"env":"x"}`, http.StatusBadRequest, ""},
		{http.MethodPost, "/_local/kafka/down", "", http.StatusConflict, "external"},
		{http.MethodGet, "/_local/functions/pay/rollout", "", http.StatusMethodNotAllowed, ""},
		{http.MethodPost, "/auth/dev-token", `{}`, http.StatusBadRequest, "invalid fields"},
		{http.MethodPost, "/auth/dev-token", `{"userId":"\u3164"}`, http.StatusBadRequest, "invalid fields"},
		{http.MethodPost, "/auth/dev-token", `{"userId":"\u200b\u200b"}`, http.StatusBadRequest, "invalid fields"},
		{http.MethodPost, "/auth/dev-token", `{"userId":"\u202eadmin"}`, http.StatusBadRequest, "invalid fields"},
		{http.MethodPost, "/auth/dev-token", `{"userId":"ann\u0007"}`, http.StatusBadRequest, "invalid fields"},
		{http.MethodPost, "/auth/dev-token", `{"UserId":"ann"}`, http.StatusBadRequest, "invalid fields"},
	}
	for _, tc := range tests {
		status, header, out := call(t, gw, tc.method, tc.path, tc.body)
		assert.Equal(t, tc.status, status, "%s %s: %v", tc.method, tc.path, out)
		assert.Equal(t, "application/problem+json", header.Get("Content-Type"), "%s %s", tc.method, tc.path)
		assert.Contains(t, fmt.Sprint(out["detail"]), tc.detail, "%s %s", tc.method, tc.path)
	}
}

func TestRedriveRoute(t *testing.T) {
	t.Parallel()
	letters := &fakeLetters{result: broker.RedriveResult{Redriven: 2, ByDestination: map[string]int{"http://x/functions/mypage/": 2}}}
	gw := mustGateway(t, &fakeFunctions{}, &fakeKafka{}, letters)

	status, _, out := call(t, gw, http.MethodPost, "/_local/dead-letters/redrive", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{"redriven": 2.0, "byDestination": map[string]any{"http://x/functions/mypage/": 2.0}, "refused": 0.0, "unreadable": 0.0}, out)
	assert.Equal(t, 1, letters.calls)

	letters.result, letters.err = broker.RedriveResult{Redriven: 1}, errors.New("the ingress answered 503")
	status, _, out = call(t, gw, http.MethodPost, "/_local/dead-letters/redrive", "")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, out["detail"], "re-drove 1 dead letters, then: the ingress answered 503")
}
