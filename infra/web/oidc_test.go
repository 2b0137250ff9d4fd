package web_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/infra/web/webtest"
)

const audience = "carrot-app"

var secret = []byte("an-oidc-test-secret-of-32-bytes!!")

// clock is a test's time, moved by hand.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// mustOIDCAuth returns an Auth taking the tokens of iss on clk, and HS256
// tokens too when secret is set.
func mustOIDCAuth(tb testing.TB, iss string, clk *clock, secret []byte) *web.Auth {
	tb.Helper()
	a, err := web.NewAuthOf(web.AuthConfig{Secret: secret, OIDC: web.OIDCConfig{Issuer: iss, Audience: audience, Now: clk.Now}, IsUserID: market.IsUserID})
	require.NoError(tb, err)
	return a
}

// call sends a request with token through a.Require and returns the
// answer and the user the handler saw ("" when it did not run).
func call(a *web.Auth, token string) (*httptest.ResponseRecorder, string) {
	var seen string
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = web.UserID(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest(http.MethodPost, "/items", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec, seen
}

// assertAccepted checks that token passes as user.
func assertAccepted(t *testing.T, a *web.Auth, token, user string) {
	t.Helper()
	rec, seen := call(a, token)
	assert.Equal(t, http.StatusNoContent, rec.Code, "body: %s", rec.Body.String())
	assert.Equal(t, user, seen)
}

// assertRefused checks that token is answered with status (401 or 503)
// and its headers, and that the handler did not run.
func assertRefused(t *testing.T, a *web.Auth, token string, status int) {
	t.Helper()
	rec, seen := call(a, token)
	webtest.MustProblem(t, rec, status)
	assert.Empty(t, seen, "the handler must not run")
	switch status {
	case http.StatusUnauthorized:
		assert.Equal(t, `Bearer realm="carrot", error="invalid_token"`, rec.Header().Get("WWW-Authenticate"))
	case http.StatusServiceUnavailable:
		assert.NotEmpty(t, rec.Header().Get("Retry-After"))
		assert.NotContains(t, rec.Body.String(), "127.0.0.1", "no address reaches the caller")
	}
}

// with returns claims with the changes applied; a nil value deletes.
func with(claims, changes map[string]any) map[string]any {
	out := maps.Clone(claims)
	maps.Copy(out, changes)
	maps.DeleteFunc(out, func(_ string, v any) bool { return v == nil })
	return out
}

// fixture is an issuer with one key, and an Auth taking its tokens (and
// HS256 tokens too when made with a secret) on a clock of the test's.
type fixture struct {
	iss  *webtest.Issuer
	kid  string
	clk  *clock
	auth *web.Auth
}

func newFixture(t *testing.T, alg string, secret []byte) fixture {
	f := fixture{iss: webtest.NewIssuer(t), clk: newClock()}
	f.kid = f.iss.AddKey(t, alg)
	f.auth = mustOIDCAuth(t, f.iss.URL, f.clk, secret)
	return f
}

// token returns a token of sally signed with key kid, valid for an hour.
func (f fixture) token(t *testing.T, kid string) string {
	return f.iss.Sign(t, kid, f.iss.Claims("sally", audience, f.clk.Now()))
}

func TestOIDCTokens(t *testing.T) {
	t.Parallel()
	iss := webtest.NewIssuer(t)
	rsaKey, ecKey := iss.AddKey(t, oidc.RS256), iss.AddKey(t, oidc.ES256)
	unpublished := iss.AddKey(t, oidc.RS256)
	iss.RetireKey(unpublished)
	other := webtest.NewIssuer(t)
	otherKey := other.AddKey(t, oidc.RS256)
	clk := newClock()
	a := mustOIDCAuth(t, iss.URL, clk, nil)
	now := clk.Now()
	base := iss.Claims("sally", audience, now)

	der, err := x509.MarshalPKIXPublicKey(iss.PublicKey(rsaKey))
	require.NoError(t, err)
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hs256 := func(key []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(base))
		tok.Header["kid"] = rsaKey
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(base)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	tests := []struct {
		name  string
		token string
		user  string // "" when the token must be refused with 401
	}{
		{name: "RS256", token: iss.Sign(t, rsaKey, base), user: "sally"},
		{name: "ES256", token: iss.Sign(t, ecKey, base), user: "sally"},
		{name: "audience among several", token: iss.Sign(t, rsaKey, with(base, map[string]any{"aud": []string{"other", audience}})), user: "sally"},
		{name: "nbf within go-oidc's skew", token: iss.Sign(t, ecKey, with(base, map[string]any{"nbf": now.Add(time.Minute).Unix()})), user: "sally"},
		{name: "another issuer", token: other.Sign(t, otherKey, other.Claims("sally", audience, now))},
		{name: "another issuer's iss on our key", token: iss.Sign(t, rsaKey, with(base, map[string]any{"iss": other.URL}))},
		{name: "another audience", token: iss.Sign(t, rsaKey, with(base, map[string]any{"aud": "other-app"}))},
		{name: "expired", token: iss.Sign(t, rsaKey, with(base, map[string]any{"exp": now.Add(-time.Minute).Unix()}))},
		{name: "no exp", token: iss.Sign(t, rsaKey, with(base, map[string]any{"exp": nil}))},
		{name: "not yet valid", token: iss.Sign(t, ecKey, with(base, map[string]any{"nbf": now.Add(time.Hour).Unix()}))},
		{name: "alg none", token: none},
		{name: "HS256 signed with the public key", token: hs256(publicPEM)},
		{name: "HS256 signed with the public key's DER", token: hs256(der)},
		{name: "key never published", token: iss.Sign(t, unpublished, base)},
		{name: "a published key id on another key's signature", token: iss.SignAs(t, unpublished, rsaKey, base)},
		{name: "no sub", token: iss.Sign(t, rsaKey, with(base, map[string]any{"sub": nil}))},
		{name: "sub with control characters", token: iss.Sign(t, rsaKey, with(base, map[string]any{"sub": "u\n1"}))},
		{name: "sub too long", token: iss.Sign(t, rsaKey, with(base, map[string]any{"sub": fmt.Sprintf("%0129d", 7)}))},
		{name: "sub that prints blank", token: iss.Sign(t, rsaKey, with(base, map[string]any{"sub": "\u3164"}))},
		{name: "sub of zero-width spaces", token: iss.Sign(t, rsaKey, with(base, map[string]any{"sub": "\u200b\u200b"}))},
		{name: "sub with a right-to-left override", token: iss.Sign(t, rsaKey, with(base, map[string]any{"sub": "\u202enimda"}))},
		{name: "garbage", token: "not.a.jwt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.user != "" {
				assertAccepted(t, a, tt.token, tt.user)
			} else {
				assertRefused(t, a, tt.token, http.StatusUnauthorized)
			}
		})
	}
}

// TestOIDCKeyRotation follows the issuer's keys: a key it retired stops
// verifying once a token signed with its successor made the keys be read
// again, or once the keys are older than KeysMaxAge.
func TestOIDCKeyRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oidc.RS256, nil)
	first := f.kid
	assertAccepted(t, f.auth, f.token(t, first), "sally")
	require.Equal(t, 1, f.iss.KeyReads())

	// A new key replaces the first: the first is still trusted until the
	// keys are read again, which a token of the new key causes.
	second := f.iss.AddKey(t, oidc.ES256)
	f.iss.RetireKey(first)
	assertAccepted(t, f.auth, f.token(t, first), "sally")
	f.clk.Advance(web.DefaultRefetchEvery)
	assertAccepted(t, f.auth, f.token(t, second), "sally")
	assert.Equal(t, 2, f.iss.KeyReads())
	assertRefused(t, f.auth, f.token(t, first), http.StatusUnauthorized)

	// No token of the new key comes; the keys age out and are read again.
	third := f.iss.AddKey(t, oidc.RS256)
	f.iss.RetireKey(second)
	assertAccepted(t, f.auth, f.token(t, second), "sally")
	f.clk.Advance(web.DefaultKeysMaxAge)
	assertRefused(t, f.auth, f.token(t, second), http.StatusUnauthorized)
	assert.Equal(t, 3, f.iss.KeyReads())
	assertAccepted(t, f.auth, f.token(t, third), "sally")
	assert.Equal(t, 3, f.iss.KeyReads(), "fresh keys are not read again")
}

// TestOIDCUnknownKeysAreBounded floods the verifier with tokens naming
// keys the issuer never had: the JWKS is read at most once per
// RefetchEvery, and every such token is 401.
func TestOIDCUnknownKeysAreBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oidc.ES256, nil)
	claims := f.iss.Claims("sally", audience, f.clk.Now())
	var forged []string
	for n := range 50 {
		forged = append(forged, f.iss.SignAs(t, f.kid, fmt.Sprint("forged-", n), claims))
	}
	flood := func() {
		var wg sync.WaitGroup
		for _, token := range forged {
			wg.Go(func() { assertRefused(t, f.auth, token, http.StatusUnauthorized) })
		}
		wg.Wait()
	}

	flood()
	assert.Equal(t, 1, f.iss.KeyReads(), "the first token reads the keys, the others wait for that read")
	f.clk.Advance(web.DefaultRefetchEvery / 2)
	flood()
	assert.Equal(t, 1, f.iss.KeyReads(), "no read within RefetchEvery")
	f.clk.Advance(web.DefaultRefetchEvery / 2)
	flood()
	assert.Equal(t, 2, f.iss.KeyReads(), "one read per RefetchEvery")
	assertAccepted(t, f.auth, f.token(t, f.kid), "sally")
}

// TestOIDCIssuerUnavailable: a token that cannot be checked because the
// issuer cannot be read is 503 with Retry-After, never 401 or 500; keys
// read before keep verifying through an outage.
func TestOIDCIssuerUnavailable(t *testing.T) {
	t.Parallel()

	// elsewhere returns a token of a key of iss whose iss claim is url.
	elsewhere := func(t *testing.T, url string) string {
		iss := webtest.NewIssuer(t)
		claims := with(iss.Claims("sally", audience, time.Now()), map[string]any{"iss": url})
		return iss.Sign(t, iss.AddKey(t, oidc.RS256), claims)
	}

	t.Run("never reached", func(t *testing.T) {
		t.Parallel()
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		// The function starts: nothing is read while wiring.
		a := mustOIDCAuth(t, gone.URL, newClock(), nil)
		assertRefused(t, a, elsewhere(t, gone.URL), http.StatusServiceUnavailable)
	})

	t.Run("discovery names another issuer", func(t *testing.T) {
		t.Parallel()
		// A misconfiguration, not the caller's fault: logged, and 503.
		mirror := httptest.NewServer(webtest.NewIssuer(t))
		t.Cleanup(mirror.Close)
		a := mustOIDCAuth(t, mirror.URL, newClock(), nil)
		assertRefused(t, a, elsewhere(t, mirror.URL), http.StatusServiceUnavailable)
	})

	t.Run("discovery names a plain http key set", func(t *testing.T) {
		t.Parallel()
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": "http://keys.example/keys"})
		}))
		t.Cleanup(srv.Close)
		a := mustOIDCAuth(t, srv.URL, newClock(), nil)
		_, err := a.Verify(t.Context(), elsewhere(t, srv.URL))
		assert.ErrorIs(t, err, web.ErrIssuerUnavailable)
		assert.ErrorContains(t, err, "is not https", "the key set is not even asked for")
	})

	t.Run("keys answer 500", func(t *testing.T) {
		t.Parallel()
		provider := &oidctest.Server{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/keys" {
				http.Error(w, "overloaded", http.StatusInternalServerError)
				return
			}
			provider.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		provider.SetIssuer(srv.URL)
		a := mustOIDCAuth(t, srv.URL, newClock(), nil)
		assertRefused(t, a, elsewhere(t, srv.URL), http.StatusServiceUnavailable)
	})

	t.Run("down, then back", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, oidc.ES256, nil)
		f.iss.SetDown(true)
		assertRefused(t, f.auth, f.token(t, f.kid), http.StatusServiceUnavailable)
		f.iss.SetDown(false)
		assertRefused(t, f.auth, f.token(t, f.kid), http.StatusServiceUnavailable)
		assert.Equal(t, 0, f.iss.KeyReads(), "a failed read is not retried within RefetchEvery")
		f.clk.Advance(web.DefaultRefetchEvery)
		assertAccepted(t, f.auth, f.token(t, f.kid), "sally")
	})

	t.Run("down after the keys were read", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, oidc.RS256, nil)
		assertAccepted(t, f.auth, f.token(t, f.kid), "sally")
		f.iss.SetDown(true)
		f.clk.Advance(web.DefaultKeysMaxAge)
		next := f.iss.AddKey(t, oidc.RS256)
		assertAccepted(t, f.auth, f.token(t, f.kid), "sally")
		assertRefused(t, f.auth, f.token(t, next), http.StatusServiceUnavailable)
	})
}

// TestAuthWithSecretAndIssuer takes each token by its alg: HS256 with the
// secret, which needs no issuer, RS256 and ES256 from the issuer.
func TestAuthWithSecretAndIssuer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, oidc.RS256, secret)
	dev, err := f.auth.Issue("dev-user", time.Hour)
	require.NoError(t, err)
	assertAccepted(t, f.auth, dev, "dev-user")
	assertAccepted(t, f.auth, f.token(t, f.kid), "sally")
	forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "sally", "exp": f.clk.Now().Add(time.Hour).Unix()}).
		SignedString([]byte("another-secret-of-at-least-32-bytes"))
	require.NoError(t, err)
	assertRefused(t, f.auth, forged, http.StatusUnauthorized)

	f.iss.SetDown(true)
	assertAccepted(t, f.auth, dev, "dev-user")
}

func TestNewAuthOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    web.AuthConfig
		err  string // "" when c is valid
	}{
		{name: "secret", c: web.AuthConfig{Secret: secret, IsUserID: market.IsUserID}},
		{name: "issuer", c: web.AuthConfig{OIDC: web.OIDCConfig{Issuer: "https://issuer.invalid/realms/carrot", Audience: audience}, IsUserID: market.IsUserID}},
		{name: "both", c: web.AuthConfig{Secret: secret, OIDC: web.OIDCConfig{Issuer: "https://issuer.invalid", Audience: audience}, IsUserID: market.IsUserID}},
		{name: "http on loopback", c: web.AuthConfig{OIDC: web.OIDCConfig{Issuer: "http://localhost:8080", Audience: audience}, IsUserID: market.IsUserID}},
		{name: "no rule for user ids", c: web.AuthConfig{Secret: secret}, err: "IsUserID"},
		{name: "neither", c: web.AuthConfig{}, err: web.SecretEnv},
		{name: "short secret beside an issuer", c: web.AuthConfig{Secret: []byte("short"), OIDC: web.OIDCConfig{Issuer: "https://issuer.invalid", Audience: audience}}, err: "at least"},
		{name: "issuer without audience", c: web.AuthConfig{OIDC: web.OIDCConfig{Issuer: "https://issuer.invalid"}}, err: web.AudienceEnv},
		{name: "audience without issuer", c: web.AuthConfig{Secret: secret, OIDC: web.OIDCConfig{Audience: audience}}, err: web.IssuerEnv},
		{name: "http elsewhere", c: web.AuthConfig{OIDC: web.OIDCConfig{Issuer: "http://issuer.example", Audience: audience}}, err: "https"},
		{name: "not a URL", c: web.AuthConfig{OIDC: web.OIDCConfig{Issuer: "issuer.example", Audience: audience}}, err: web.IssuerEnv},
		{name: "a query", c: web.AuthConfig{OIDC: web.OIDCConfig{Issuer: "https://issuer.example/?tenant=1", Audience: audience}}, err: web.IssuerEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := web.NewAuthOf(tt.c)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, a)
		})
	}
}

func TestAuthFromEnvWithIssuer(t *testing.T) {
	iss := webtest.NewIssuer(t)
	kid := iss.AddKey(t, oidc.ES256)
	t.Setenv(web.SecretEnv, "")
	t.Setenv(web.IssuerEnv, iss.URL)
	t.Setenv(web.AudienceEnv, audience)
	a, err := web.AuthFromEnv(market.IsUserID)
	require.NoError(t, err)
	id, err := a.Verify(context.Background(), iss.Sign(t, kid, iss.Claims("sally", audience, time.Now())))
	require.NoError(t, err)
	assert.Equal(t, "sally", id)
	_, err = a.Issue("sally", time.Hour)
	assert.Error(t, err, "without a secret there is nothing to sign with")

	t.Setenv(web.AudienceEnv, "")
	_, err = web.AuthFromEnv(market.IsUserID)
	assert.ErrorContains(t, err, web.AudienceEnv)
}
