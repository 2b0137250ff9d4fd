package boottest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

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
// ("" sends no token), as Send does, and requires an answer.
func (s *System) Do(tb testing.TB, base, userID, method, path string, body any, header ...string) Response {
	tb.Helper()
	if userID != "" {
		header = append([]string{"Authorization", "Bearer " + s.Token(tb, userID)}, header...)
	}
	res, err := Send(method, base+path, body, header...)
	require.NoError(tb, err)
	return res
}

// MustCall sends a request as userID ("" sends no token) to the function
// called fn, requires that it answers status and returns the JSON body,
// nil when the body is empty. It fails the test when the body is not JSON.
func (s *System) MustCall(tb testing.TB, fn, userID, method, path string, body any, status int) map[string]any {
	tb.Helper()
	res := s.Do(tb, s.URL[fn], userID, method, path, body)
	require.Equal(tb, status, res.Status, "%s %s: %s", method, path, res.Body)
	if len(res.Body) == 0 {
		return nil
	}
	return res.JSON(tb)
}

// Shown returns the body GET path answers as userID on the function called
// fn, as the API shows the resource, or "" when it answers 404. Any other
// status fails the test. Tests that check a delivery changed nothing
// compare what is shown before and after.
func (s *System) Shown(tb testing.TB, fn, userID, path string) string {
	tb.Helper()
	res := s.Do(tb, s.URL[fn], userID, http.MethodGet, path, nil)
	if res.Status == http.StatusNotFound {
		return ""
	}
	require.Equal(tb, http.StatusOK, res.Status, "GET %s: %s", path, res.Body)
	return string(res.Body)
}
