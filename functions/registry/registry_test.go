package registry_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carrot-market/carrot/functions/registry"
)

// TestRegistryHasOneGatewayWithNothingOfItsOwn keeps the gateway a pure
// proxy: the one function with Proxy set, serving no route, consuming and
// emitting nothing and touching no table, so it needs no AWS role; every
// other function calls AWS.
func TestRegistryHasOneGatewayWithNothingOfItsOwn(t *testing.T) {
	t.Parallel()
	var proxies []string
	for _, f := range registry.All {
		if f.Proxy {
			proxies = append(proxies, f.Name)
			continue
		}
		assert.True(t, f.CallsAWS(), "%s touches a table", f.Name)
	}
	assert.Equal(t, []string{registry.Gateway.Name}, proxies, "the gateway is the one proxy")

	gw, ok := registry.Named("gateway")
	assert.True(t, ok, "the gateway is declared in All")
	assert.Empty(t, gw.Routes)
	assert.Nil(t, gw.Consumes)
	assert.Empty(t, gw.Emits)
	assert.Empty(t, gw.Tables)
	assert.False(t, gw.Relay || gw.Reconcile)
	assert.False(t, gw.CallsAWS())
	for rt, f := range registry.Routes() {
		assert.NotEqual(t, gw.Name, f.Name, "%s %s", rt.Method, rt.Path)
	}
}

// TestEveryGetIsServedForHead keeps HEAD wherever GET is served, and no
// other method doubled.
func TestEveryGetIsServedForHead(t *testing.T) {
	t.Parallel()
	for rt := range registry.Routes() {
		want := []string{rt.Method}
		if rt.Method == http.MethodGet {
			want = append(want, http.MethodHead)
		}
		assert.Equal(t, want, rt.Methods(), "%s %s", rt.Method, rt.Path)
	}
}
