package web

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
)

var testSecret = []byte("a-test-secret-of-at-least-32-bytes!")

// MustAuth returns an Auth with the test secret.
func MustAuth(tb testing.TB) *Auth {
	tb.Helper()
	a, err := NewAuth(testSecret, market.IsUserID)
	require.NoError(tb, err)
	return a
}

// sign returns a token with claims signed by method and key.
func sign(tb testing.TB, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	tb.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(tb, err)
	return s
}

func TestNewAuthRejectsShortSecrets(t *testing.T) {
	t.Parallel()
	for _, s := range [][]byte{nil, []byte("short"), testSecret[:MinSecretBytes-1]} {
		_, err := NewAuth(s, market.IsUserID)
		assert.Error(t, err, "secret %q", s)
	}
	_, err := NewAuth(testSecret[:MinSecretBytes], market.IsUserID)
	assert.NoError(t, err)
}

func TestAuthFromEnv(t *testing.T) {
	t.Setenv(SecretEnv, "")
	_, err := AuthFromEnv(market.IsUserID)
	assert.ErrorContains(t, err, SecretEnv)

	t.Setenv(SecretEnv, "too-short")
	_, err = AuthFromEnv(market.IsUserID)
	assert.Error(t, err)

	t.Setenv(SecretEnv, string(testSecret))
	a, err := AuthFromEnv(market.IsUserID)
	require.NoError(t, err)
	tok, err := a.Issue("u1", time.Minute)
	require.NoError(t, err)
	id, err := MustAuth(t).Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, "u1", id)
}

func TestIssue(t *testing.T) {
	t.Parallel()
	a := MustAuth(t)
	_, err := a.Issue("", time.Minute)
	assert.Error(t, err)
	_, err = a.Issue("has space", time.Minute)
	assert.Error(t, err)
	for _, blank := range []string{"\u3164", "\u200b", "\u2800", "u\x07", "\u202eu"} {
		_, err = a.Issue(blank, time.Minute)
		assert.Error(t, err, "%q prints nothing or lies", blank)
	}
	_, err = a.Issue("당근", time.Minute)
	assert.NoError(t, err)
	_, err = a.Issue("u1", 0)
	assert.Error(t, err)
}

func TestRequire(t *testing.T) {
	t.Parallel()
	a := MustAuth(t)
	now := time.Now()
	valid, err := a.Issue("seller-1", time.Hour)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	exp := jwt.NewNumericDate(now.Add(time.Hour))

	tests := []struct {
		name      string
		header    string
		user      string // "" when the request must be refused
		challenge string
	}{
		{name: "valid", header: "Bearer " + valid, user: "seller-1"},
		{name: "scheme is case-insensitive", header: "bearer " + valid, user: "seller-1"},
		{name: "missing", header: "", challenge: `Bearer realm="carrot"`},
		{name: "basic scheme", header: "Basic dTpw", challenge: `Bearer realm="carrot"`},
		{name: "no token", header: "Bearer ", challenge: `Bearer realm="carrot"`},
		{name: "garbage", header: "Bearer not.a.jwt"},
		{name: "wrong key", header: "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-at-least-32-bytes"),
			jwt.RegisteredClaims{Subject: "u", ExpiresAt: exp})},
		{name: "alg none", header: "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
			jwt.RegisteredClaims{Subject: "u", ExpiresAt: exp})},
		{name: "HS512", header: "Bearer " + sign(t, jwt.SigningMethodHS512, testSecret,
			jwt.RegisteredClaims{Subject: "u", ExpiresAt: exp})},
		{name: "RS256", header: "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey,
			jwt.RegisteredClaims{Subject: "u", ExpiresAt: exp})},
		{name: "expired", header: "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.RegisteredClaims{Subject: "u", ExpiresAt: jwt.NewNumericDate(now.Add(-time.Hour))})},
		{name: "no exp", header: "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.RegisteredClaims{Subject: "u"})},
		{name: "not yet valid", header: "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.RegisteredClaims{Subject: "u", ExpiresAt: exp, NotBefore: jwt.NewNumericDate(now.Add(time.Hour))})},
		{name: "no sub", header: "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.RegisteredClaims{ExpiresAt: exp})},
		{name: "sub with control characters", header: "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.RegisteredClaims{Subject: "u\n1", ExpiresAt: exp})},
		{name: "sub too long", header: "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.RegisteredClaims{Subject: strings.Repeat("u", market.MaxUserID+1), ExpiresAt: exp})},
		{name: "sub that prints blank", header: "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.RegisteredClaims{Subject: "\u3164\u3164", ExpiresAt: exp})},
		{name: "sub with a right-to-left override", header: "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.RegisteredClaims{Subject: "\u202enimda", ExpiresAt: exp})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var seen string
			h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = UserID(r.Context())
				w.WriteHeader(http.StatusNoContent)
			}))
			r := httptest.NewRequest(http.MethodPost, "/items", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if tt.user != "" {
				assert.Equal(t, http.StatusNoContent, rec.Code)
				assert.Equal(t, tt.user, seen)
				return
			}
			p := mustProblem(t, rec, http.StatusUnauthorized)
			assert.NotEmpty(t, p.Detail)
			assert.Empty(t, seen, "the handler must not run")
			challenge := tt.challenge
			if challenge == "" {
				challenge = `Bearer realm="carrot", error="invalid_token"`
			}
			assert.Equal(t, challenge, rec.Header().Get("WWW-Authenticate"))
		})
	}
}

func TestUserIDOutsideRequire(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	assert.Empty(t, UserID(r.Context()))
	assert.Equal(t, "u9", UserID(WithUserID(r.Context(), "u9")))
}
