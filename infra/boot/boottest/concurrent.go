package boottest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Send is Do for any goroutine: it never fails the test and returns what
// went wrong instead, so it may run where t.FailNow must not. body is
// marshalled as JSON unless it is a string, which is sent as it is; nil
// sends none. header holds name and value pairs, set after Content-Type;
// a bearer token goes there (see Token, which must be called from the
// test's goroutine).
func Send(method, url string, body any, header ...string) (Response, error) {
	rd, err := encode(body)
	if err != nil {
		return Response{}, err
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Header: res.Header, Body: raw}, err
}

func encode(body any) (io.Reader, error) {
	if body == nil {
		return nil, nil
	}
	if s, ok := body.(string); ok {
		return strings.NewReader(s), nil
	}
	raw, err := json.Marshal(body)
	return bytes.NewReader(raw), err
}

// Burst runs request(i) for i from 0 to n-1, each on a goroutine of its
// own, releases them all at once and returns their answers by i. request
// runs off the test's goroutine, so it must not fail the test (use Send,
// not Do): it returns an error instead, and Burst requires, from the
// test's goroutine, that every request got an answer.
func Burst(tb testing.TB, n int, request func(i int) (Response, error)) []Response {
	tb.Helper()
	answers := make([]Response, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i], errs[i] = request(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(tb, err, "request %d got no answer", i)
	}
	return answers
}
