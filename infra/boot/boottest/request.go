package boottest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

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
