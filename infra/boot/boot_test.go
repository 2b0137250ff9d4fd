package boot_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
	"github.com/carrot-market/carrot/infra/outbox"
	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/infra/web/webtest"
)

const audience = "carrot-app"

// setAuthEnv sets the three auth variables as a cluster would, "" for a
// key the ConfigMap or Secret leaves out.
func setAuthEnv(t *testing.T, secret, issuer, audience string) {
	t.Setenv(web.SecretEnv, secret)
	t.Setenv(web.IssuerEnv, issuer)
	t.Setenv(web.AudienceEnv, audience)
}

// serveFromEnv wires register-item from the environment of a cluster whose
// users sign in with the identity provider at issuer and which has no
// shared secret, serves it, and returns a function that posts an item with
// a bearer token.
func serveFromEnv(t *testing.T, issuer string) func(token string) *http.Response {
	prefix := dynamotest.MustTables(t, dynamotest.MustClient(t))
	t.Setenv(dynamo.EnvTablePrefix, prefix)
	t.Setenv(outbox.SinkEnv, "")
	setAuthEnv(t, "", issuer, audience)
	deps, err := boot.FromEnv(t.Context(), registry.RegisterItem)
	require.NoError(t, err)
	srv := httptest.NewServer(boot.Handler(registry.RegisterItem, deps))
	t.Cleanup(srv.Close)
	return func(token string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/items", bytes.NewBufferString(`{"name":"tv","category":"electronics","price":30000}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
}

// TestFromEnvWithAnIdentityProvider: a function wired with only an
// identity provider takes its tokens, with their sub as the user, and
// refuses HS256 tokens and tokens for another audience.
func TestFromEnvWithAnIdentityProvider(t *testing.T) {
	iss := webtest.NewIssuer(t)
	kid := iss.AddKey(t, oidc.ES256)
	post := serveFromEnv(t, iss.URL)

	res := post(iss.Sign(t, kid, iss.Claims("sally", audience, time.Now())))
	require.Equal(t, http.StatusCreated, res.StatusCode)
	var item map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&item))
	assert.Equal(t, "sally", item["sellerId"], "the seller is the token's sub")

	devAuth, err := web.NewAuth([]byte("a-secret-this-function-does-not-have"), market.IsUserID)
	require.NoError(t, err)
	dev, err := devAuth.Issue("sally", time.Hour)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, post(dev).StatusCode, "without a secret no HS256 token passes")
	assert.Equal(t, http.StatusUnauthorized, post(iss.Sign(t, kid, iss.Claims("sally", "another-app", time.Now()))).StatusCode)
}

// TestFromEnvWithAnIdentityProviderDown: a function starts while its
// identity provider is down, and answers a token it cannot check with 503
// and Retry-After.
func TestFromEnvWithAnIdentityProviderDown(t *testing.T) {
	iss := webtest.NewIssuer(t)
	kid := iss.AddKey(t, oidc.RS256)
	iss.SetDown(true)
	post := serveFromEnv(t, iss.URL)

	res := post(iss.Sign(t, kid, iss.Claims("sally", audience, time.Now())))
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
}

// TestFromEnvAuthSettings: wiring fails fast on auth settings that cannot
// work, never reads the identity provider, and leaves a function without
// protected routes alone.
func TestFromEnvAuthSettings(t *testing.T) {
	prefix := dynamotest.MustTables(t, dynamotest.MustClient(t))
	t.Setenv(dynamo.EnvTablePrefix, prefix)
	t.Setenv(outbox.SinkEnv, "")
	unreachable := httptest.NewServer(http.NotFoundHandler())
	unreachable.Close()
	secret := "a-secret-of-at-least-32-bytes-long"

	tests := []struct {
		name                     string
		fn                       registry.Function
		secret, issuer, audience string
		err                      string // "" when wiring succeeds
	}{
		{name: "secret", fn: registry.RegisterItem, secret: secret},
		{name: "issuer, while it is down", fn: registry.RegisterItem, issuer: unreachable.URL, audience: audience},
		{name: "both", fn: registry.Pay, secret: secret, issuer: "https://issuer.invalid", audience: audience},
		{name: "neither", fn: registry.RegisterItem, err: web.SecretEnv},
		{name: "issuer without audience", fn: registry.MyPage, issuer: "https://issuer.invalid", err: web.AudienceEnv},
		{name: "plain http issuer", fn: registry.RequestChat, issuer: "http://issuer.example", audience: audience, err: web.IssuerEnv},
		{name: "short secret", fn: registry.RegisterItem, secret: "short", err: "at least"},
		{name: "no protected route, nothing set", fn: registry.ItemPolicy},
		{name: "no protected route, bad settings ignored", fn: registry.OutboxRelay, secret: "short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setAuthEnv(t, tt.secret, tt.issuer, tt.audience)
			deps, err := boot.FromEnv(t.Context(), tt.fn)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.fn.Authenticates(), deps.Auth != nil, "only a function with protected routes has an Auth")
		})
	}
}
