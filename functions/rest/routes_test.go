package rest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/web"
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
