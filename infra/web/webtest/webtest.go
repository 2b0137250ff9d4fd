// Package webtest checks the answers of infra/web's problem writer, for
// the tests of web and of every package that hands it a translation.
package webtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/carrot-market/carrot/infra/web"
)

// MustProblem checks that rec holds a problem+json answer with status and
// returns its body.
func MustProblem(tb testing.TB, rec *httptest.ResponseRecorder, status int) web.Problem {
	tb.Helper()
	require.Equal(tb, status, rec.Code, "body: %s", rec.Body.String())
	require.Equal(tb, "application/problem+json", rec.Header().Get("Content-Type"))
	var p web.Problem
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(tb, status, p.Status)
	assert.NotEmpty(tb, p.Title)
	assert.Regexp(tb, `^https://carrot\.dev/problems/[a-z-]+$`, p.Type)
	return p
}

// ErrorCase is an error and the problem it must be answered with.
type ErrorCase struct {
	Name       string
	Err        error
	Status     int
	Type       string // the last segment of the problem type
	Detail     string
	Fields     []web.FieldError
	Header     string // a header the answer must carry, if any
	HeaderWant string
}

// CheckErrors answers each case's error with answer, in parallel, and
// checks the problem: its status, type, detail and fields, the header, and
// that a 5xx shows no storage text and logs the error once while any other
// answer logs nothing.
func CheckErrors(t *testing.T, answer web.ErrorFunc, cases []ErrorCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zap.DebugLevel)
			r := httptest.NewRequest(http.MethodGet, "/items/7", nil)
			r = r.WithContext(web.WithLogger(r.Context(), zap.New(core).Sugar()))
			rec := httptest.NewRecorder()

			answer(rec, r, tt.Err)

			p := MustProblem(t, rec, tt.Status)
			assert.Equal(t, web.ProblemType+tt.Type, p.Type)
			assert.Equal(t, tt.Detail, p.Detail)
			assert.Equal(t, tt.Fields, p.Errors)
			if tt.Header != "" {
				assert.Equal(t, tt.HeaderWant, rec.Header().Get(tt.Header))
			}
			if tt.Status >= 500 {
				assert.NotContains(t, rec.Body.String(), "dynamo")
				assert.NotContains(t, rec.Body.String(), "DynamoDB")
				require.Equal(t, 1, logs.Len(), "a hidden error must be logged")
				assert.Equal(t, tt.Err.Error(), logs.All()[0].ContextMap()["error"])
			} else {
				assert.Zero(t, logs.Len())
			}
		})
	}
}
