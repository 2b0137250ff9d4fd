package boottest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RequireProblem checks that r is an RFC 9457 problem of status whose
// errors name exactly fields: in any order, and each as often as it is
// given, so a field with two problems must be given twice. The status is
// a precondition (require); the rest are checks (assert): the content
// type application/problem+json, the status member, a type and a title.
func (r Response) RequireProblem(tb testing.TB, status int, fields ...string) {
	tb.Helper()
	require.Equal(tb, status, r.Status, "%s", r.Body)
	assert.Equal(tb, "application/problem+json", r.Header.Get("Content-Type"))
	p := r.JSON(tb)
	assert.EqualValues(tb, status, p["status"])
	assert.NotEmpty(tb, p["type"])
	assert.NotEmpty(tb, p["title"])
	var named []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		named = append(named, e.(map[string]any)["field"].(string))
	}
	assert.ElementsMatch(tb, fields, named, "fields named by %s", r.Body)
}
