package boottest_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/boot/boottest"
)

// recorder is a testing.TB that records failures instead of failing the
// test that runs it. FailNow ends the goroutine it is called on, as the
// testing package's does, so run checks through recorder.run.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
	stopped  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) FailNow() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls check with r on a goroutine of its own and waits for it.
func (r *recorder) run(check func(tb testing.TB)) *recorder {
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	return r
}

func newRecorder(t *testing.T) *recorder { return &recorder{TB: t} }

func problem(status int, contentType, body string) boottest.Response {
	return boottest.Response{Status: status, Header: http.Header{"Content-Type": {contentType}}, Body: []byte(body)}
}

func TestRequireProblem(t *testing.T) {
	t.Parallel()
	const typ = `"type": "https://carrot.example/problems/invalid", "title": "Invalid request"`
	twoPrices := problem(400, "application/problem+json",
		`{`+typ+`, "status": 400, "errors": [{"field": "price"}, {"field": "name"}, {"field": "price"}]}`)
	for _, tc := range []struct {
		name    string
		res     boottest.Response
		status  int
		fields  []string
		failed  bool // some check failed
		stopped bool // the precondition failed and stopped the test
	}{
		{"every field as often as named, in any order", twoPrices, 400, []string{"name", "price", "price"}, false, false},
		{"a field named twice but given once", twoPrices, 400, []string{"name", "price"}, true, false},
		{"a field given that is not named", twoPrices, 400, []string{"name", "price", "price", "photos"}, true, false},
		{"no field given where the problem names none", problem(409, "application/problem+json", `{`+typ+`, "status": 409}`), 409, nil, false, false},
		{"no field given where the problem names one", problem(400, "application/problem+json", `{`+typ+`, "status": 400, "errors": [{"field": "name"}]}`), 400, nil, true, false},
		{"another status", problem(404, "application/problem+json", `{`+typ+`, "status": 404}`), 409, nil, true, true},
		{"another status member", problem(409, "application/problem+json", `{`+typ+`, "status": 500}`), 409, nil, true, false},
		{"plain JSON", problem(409, "application/json", `{`+typ+`, "status": 409}`), 409, nil, true, false},
		{"no type", problem(409, "application/problem+json", `{"title": "Conflict", "status": 409}`), 409, nil, true, false},
		{"no title", problem(409, "application/problem+json", `{"type": "x", "status": 409}`), 409, nil, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t).run(func(tb testing.TB) { tc.res.RequireProblem(tb, tc.status, tc.fields...) })
			assert.Equal(t, tc.failed, len(r.failures) > 0 || r.stopped, "failures: %q", r.failures)
			assert.Equal(t, tc.stopped, r.stopped)
		})
	}
}

func TestCopyWith(t *testing.T) {
	t.Parallel()
	m := map[string]any{"a": 1, "b": 2}
	assert.Equal(t, map[string]any{"a": 1, "b": 3}, boottest.CopyWith(m, "b", 3))
	assert.Equal(t, map[string]any{"a": 1, "b": 2, "c": ""}, boottest.CopyWith(m, "c", ""))
	assert.Equal(t, map[string]any{"a": 1}, boottest.CopyWith(m, "b", nil))
	assert.Equal(t, map[string]any{"a": 1, "b": 2}, m, "the original is unchanged")
	assert.Equal(t, map[string]any{"k": true}, boottest.CopyWith(nil, "k", true))
	assert.Equal(t, map[string]any{}, boottest.CopyWith(nil, "k", nil))
}

func TestSend(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", r.Method+"|"+r.Header.Get("Content-Type")+"|"+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name   string
		method string
		body   any
		header []string
		echo   string
		sent   string
	}{
		{"no body and no Content-Type", http.MethodDelete, nil, []string{"Authorization", "Bearer x"}, "DELETE||Bearer x", ""},
		{"a string as it is", http.MethodPost, `{"a": 1}`, nil, "POST|application/json|", `{"a": 1}`},
		{"an empty string is a body", http.MethodPost, "", nil, "POST|application/json|", ""},
		{"anything else as JSON", http.MethodPatch, map[string]any{"b": "c", "a": 1}, nil, "PATCH|application/json|", `{"a":1,"b":"c"}`},
		{"header after Content-Type", http.MethodPost, "x", []string{"Content-Type", "text/plain"}, "POST|text/plain|", "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := boottest.Send(tc.method, srv.URL, tc.body, tc.header...)
			require.NoError(t, err)
			assert.Equal(t, http.StatusTeapot, res.Status)
			assert.Equal(t, tc.echo, res.Header.Get("X-Echo"))
			assert.Equal(t, tc.sent, string(res.Body))
		})
	}

	_, err := boottest.Send(http.MethodPost, srv.URL, func() {})
	assert.Error(t, err, "a body that is not JSON is an error, not a failed test")
	_, err = boottest.Send(http.MethodGet, "http://127.0.0.1:0", nil)
	assert.Error(t, err, "no answer is an error, not a failed test")
}

func TestBurst(t *testing.T) {
	t.Parallel()
	const n = 8
	var (
		mu      sync.Mutex
		waiting int
		most    int
		release = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		waiting++
		most = max(most, waiting)
		if waiting == n {
			close(release)
		}
		mu.Unlock()
		<-release
		_, _ = io.WriteString(w, r.URL.Query().Get("i"))
	}))
	t.Cleanup(srv.Close)

	answers := boottest.Burst(t, n, func(i int) (boottest.Response, error) {
		return boottest.Send(http.MethodGet, fmt.Sprintf("%s?i=%d", srv.URL, i), nil)
	})
	require.Len(t, answers, n)
	for i, a := range answers {
		assert.Equal(t, fmt.Sprint(i), string(a.Body), "answers are in the order of i")
	}
	assert.Equal(t, n, most, "every request was under way at once")

	r := newRecorder(t).run(func(tb testing.TB) {
		boottest.Burst(tb, 3, func(i int) (boottest.Response, error) {
			if i == 1 {
				return boottest.Response{}, errors.New("no answer")
			}
			return boottest.Response{Status: http.StatusOK}, nil
		})
	})
	assert.True(t, r.stopped, "Burst requires every answer, from the goroutine that called it")
}
