package rest

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/infra/web/webtest"
)

// Every route a function declares has its handler, and every handler
// serves a declared route.
func TestEveryRouteHasItsHandler(t *testing.T) {
	t.Parallel()
	handlers := (&Handler{}).handlers()
	declared := registry.Routes()
	for rt, f := range declared {
		assert.Contains(t, handlers, rt, "%s declares %s %s", f.Name, rt.Method, rt.Path)
	}
	for rt := range handlers {
		assert.Contains(t, declared, rt, "%s %s is served but no function declares it", rt.Method, rt.Path)
	}
}

// A function whose routes need no token mounts them without an Auth; one
// whose routes do cannot.
func TestMountNeedsAuthOnlyForProtectedRoutes(t *testing.T) {
	t.Parallel()
	for _, f := range registry.All {
		mount := func() { (&Handler{}).Mount(web.NewRouter(), f.Routes, nil, nil) }
		if f.Authenticates() {
			assert.Panics(t, mount, f.Name)
		} else {
			assert.NotPanics(t, mount, f.Name)
		}
	}
}

// An ID takes a string, or the digits of an unsigned integer for the
// seed's clients; any other value is a wrong type that names its field.
func TestIDOnTheWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body    string
		want    ID
		message string // the field's message when the body is refused
	}{
		{body: `{"itemId":"0190a6e2-7c1d-7b5e-9a3f-2c4d5e6f7a8b"}`, want: "0190a6e2-7c1d-7b5e-9a3f-2c4d5e6f7a8b"},
		{body: `{"itemId":"1"}`, want: "1"},
		{body: `{"itemId":1}`, want: "1"},
		{body: `{"itemId":12345678901234567890}`, want: "12345678901234567890"},
		{body: `{"itemId":1.5}`, message: "must be a string, not number 1.5"},
		{body: `{"itemId":-1}`, message: "must be a string, not number -1"},
		{body: `{"itemId":1e3}`, message: "not number 1e3"},
		{body: `{"itemId":true}`, message: "must be a string, not bool"},
		{body: `{"itemId":{"id":"1"}}`, message: "must be a string, not object"},
		{body: `{"itemId":["1"]}`, message: "must be a string, not array"},
		{body: `{"itemId":null}`, message: "must not be null"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/reservations", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			var in struct {
				ItemID ID `json:"itemId"`
			}
			err := web.Decode(r, &in)
			if tt.message == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, in.ItemID)
				return
			}
			var se *web.StatusError
			require.True(t, errors.As(err, &se), "%v", err)
			assert.Equal(t, http.StatusBadRequest, se.Status)
			require.Len(t, se.Fields, 1)
			assert.Equal(t, "itemId", se.Fields[0].Field)
			assert.Contains(t, se.Fields[0].Message, tt.message)
		})
	}
}

// TestOutOfFormIDsNeverReachTheUseCases sends ids and user ids out of form
// to every route that takes one: an id in the path is 404, one in the
// body or the query a 400 naming it. The Handler has no use cases, so a
// request that got past the checks would panic.
func TestOutOfFormIDsNeverReachTheUseCases(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("1", 2049)
	tests := []struct {
		method, path, body string
		status             int
		field              string
	}{
		{method: http.MethodGet, path: "/items/" + long, status: http.StatusNotFound},
		{method: http.MethodGet, path: "/items/item%201", status: http.StatusNotFound},
		{method: http.MethodGet, path: "/items/%E3%85%A4", status: http.StatusNotFound},
		{method: http.MethodPatch, path: "/items/" + long, body: `{"price":1}`, status: http.StatusNotFound},
		{method: http.MethodDelete, path: "/items/" + long, status: http.StatusNotFound},
		{method: http.MethodGet, path: "/reservations/" + long, status: http.StatusNotFound},
		{method: http.MethodPatch, path: "/reservations/" + long, body: `{"rsvStatus":"CONFIRMED"}`, status: http.StatusNotFound},
		{method: http.MethodDelete, path: "/reservations/" + long, status: http.StatusNotFound},
		{method: http.MethodPost, path: "/reservations/" + long + "/messages", body: `{"text":"hi"}`, status: http.StatusNotFound},
		{method: http.MethodGet, path: "/reservations/" + long + "/messages", status: http.StatusNotFound},
		{method: http.MethodGet, path: "/payments/" + long, status: http.StatusNotFound},
		{method: http.MethodPatch, path: "/payments/" + long, body: `{"status":"DELETED"}`, status: http.StatusNotFound},
		{method: http.MethodDelete, path: "/payments/" + long, status: http.StatusNotFound},
		{method: http.MethodGet, path: "/myPages/" + long, status: http.StatusNotFound},
		{method: http.MethodPost, path: "/reservations", body: `{"itemId":"` + long + `"}`, status: http.StatusBadRequest, field: "itemId"},
		{method: http.MethodPost, path: "/reservations", body: `{"itemId":"../items"}`, status: http.StatusBadRequest, field: "itemId"},
		{method: http.MethodPost, path: "/payments", body: `{"rsvId":"` + long + `"}`, status: http.StatusBadRequest, field: "rsvId"},
		{method: http.MethodPost, path: "/payments", body: `{"rsvId":"1","itemId":"a b"}`, status: http.StatusBadRequest, field: "itemId"},
		{method: http.MethodPatch, path: "/payments/1", body: `{"status":"DELETED","rsvId":"` + long + `"}`, status: http.StatusBadRequest, field: "rsvId"},
		{method: http.MethodPatch, path: "/payments/1", body: `{"status":"DELETED","itemId":"\u200b"}`, status: http.StatusBadRequest, field: "itemId"},
		{method: http.MethodPost, path: "/reviews", body: `{"rsvId":"` + long + `","score":5}`, status: http.StatusBadRequest, field: "rsvId"},
		{method: http.MethodGet, path: "/items?sellerId=" + long, status: http.StatusBadRequest, field: "sellerId"},
		{method: http.MethodGet, path: "/items?sellerId=%E3%85%A4", status: http.StatusBadRequest, field: "sellerId"},
		{method: http.MethodGet, path: "/myPages?userId=%E2%80%AEnimda", status: http.StatusBadRequest, field: "userId"},
		{method: http.MethodGet, path: "/myPages?userId=ann%00", status: http.StatusBadRequest, field: "userId"},
	}
	auth, err := web.NewAuth([]byte("a-rest-test-secret-of-at-least-32-bytes"), market.IsUserID)
	require.NoError(t, err)
	token, err := auth.Issue("ann", time.Hour)
	require.NoError(t, err)
	r := web.NewRouter()
	(&Handler{}).Mount(r, slices.Collect(maps.Keys(registry.Routes())), auth, nil)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %.40s %.40s", tt.method, tt.path, tt.body), func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			if tt.status == http.StatusNotFound {
				// The path, which the key's scope holds, is refused
				// before the key is stored: the store is nil.
				req.Header.Set(web.IdempotencyKeyHeader, "k-1")
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			p := webtest.MustProblem(t, rec, tt.status)
			if tt.field == "" {
				assert.Empty(t, p.Errors)
				return
			}
			require.Len(t, p.Errors, 1, "%+v", p)
			assert.Equal(t, tt.field, p.Errors[0].Field)
		})
	}
}
