package rest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/functions/registry"
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
