package rest

import (
	"testing"

	"github.com/stretchr/testify/assert"

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
