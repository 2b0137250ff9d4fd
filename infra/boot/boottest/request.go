package boottest

import (
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
