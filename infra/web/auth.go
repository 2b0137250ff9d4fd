package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// SecretEnv names the environment variable holding the JWT signing key.
const SecretEnv = "CARROT_JWT_SECRET"

// MinSecretBytes is the shortest key NewAuthOf accepts: HS256 needs a key at
// least as long as its 256-bit hash (RFC 7518, section 3.2).
const MinSecretBytes = 32

// clockSkew is how far the clocks of the token issuer and this function
// may disagree when exp and nbf are checked.
const clockSkew = 30 * time.Second

// Auth checks the bearer tokens of requests: HS256 tokens signed with a
// shared secret, tokens of an OpenID Connect identity provider, or both,
// as its AuthConfig says. Each token goes to the one verifier that takes
// its alg, so a token never reaches a key of the wrong kind. It is safe
// for concurrent use.
type Auth struct {
	secret   []byte  // nil: HS256 tokens are refused
	issuer   *issuer // nil: no identity provider
	isUserID func(string) bool
	parser   *jwt.Parser
	now      func() time.Time
}

// AuthConfig says which tokens an Auth accepts. At least one of the two
// must be set; with both, each token is checked by its alg: HS256 with
// Secret, RS256 and ES256 by the identity provider.
type AuthConfig struct {
	// Secret is the HS256 key of make run, tests and drills, at least
	// MinSecretBytes long; nil refuses HS256 tokens.
	Secret []byte
	// OIDC names the identity provider production users sign in with;
	// the zero value names none.
	OIDC OIDCConfig
	// IsUserID is the domain's rule for a user id (market.IsUserID), which
	// the sub of every token and every id Issue signs must obey. The
	// wiring hands it over, as it hands over the translation of the
	// domain's errors, so that web stays domain-free. It is required.
	IsUserID func(id string) bool
}

// AuthConfigFromEnv reads $CARROT_JWT_SECRET, $CARROT_OIDC_ISSUER and
// $CARROT_OIDC_AUDIENCE.
func AuthConfigFromEnv() AuthConfig {
	c := AuthConfig{OIDC: OIDCConfig{Issuer: os.Getenv(IssuerEnv), Audience: os.Getenv(AudienceEnv)}}
	if s := os.Getenv(SecretEnv); s != "" {
		c.Secret = []byte(s)
	}
	return c
}

// NewAuth returns an Auth signing and verifying HS256 tokens with secret,
// for user ids that isUserID accepts, and no identity provider.
func NewAuth(secret []byte, isUserID func(string) bool) (*Auth, error) {
	return NewAuthOf(AuthConfig{Secret: secret, IsUserID: isUserID})
}

// AuthFromEnv returns NewAuthOf(AuthConfigFromEnv()) for user ids that
// isUserID accepts.
func AuthFromEnv(isUserID func(string) bool) (*Auth, error) {
	c := AuthConfigFromEnv()
	c.IsUserID = isUserID
	return NewAuthOf(c)
}

// NewAuthOf returns an Auth accepting the tokens c names. It fails when c
// names no way to check a token or no rule for user ids, when the secret
// is shorter than MinSecretBytes, or when the provider's settings are
// invalid, so that a
// misconfigured function stops at wiring time instead of accepting
// forgeable tokens or refusing every one. It reads nothing from the
// provider: a function starts while the provider is down.
func NewAuthOf(c AuthConfig) (*Auth, error) {
	if c.Secret == nil && !c.OIDC.configured() {
		return nil, fmt.Errorf("web: no bearer token can be checked: set $%s and $%s (an identity provider), $%s (a shared HS256 key), or both",
			IssuerEnv, AudienceEnv, SecretEnv)
	}
	a := &Auth{isUserID: c.IsUserID, now: time.Now}
	if c.Secret != nil {
		if len(c.Secret) < MinSecretBytes {
			return nil, fmt.Errorf("web: the JWT secret must be at least %d bytes, got %d", MinSecretBytes, len(c.Secret))
		}
		a.secret = append([]byte(nil), c.Secret...)
	}
	if c.OIDC.configured() {
		iss, err := newIssuer(c.OIDC)
		if err != nil {
			return nil, err
		}
		a.issuer = iss
	}
	if c.IsUserID == nil {
		return nil, errors.New("web: no rule for user ids: set AuthConfig.IsUserID (market.IsUserID)")
	}
	a.parser = jwt.NewParser(
		// Only HS256: this rejects alg "none" and every algorithm an
		// attacker might pick to make the key mean something else.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(func() time.Time { return a.now() }),
	)
	return a, nil
}

// Issue returns an HS256 token for userID that expires after ttl. It
// serves development tools and tests, and fails on an Auth without a
// secret: carrot never mints tokens of an identity provider.
func (a *Auth) Issue(userID string, ttl time.Duration) (string, error) {
	if a.secret == nil {
		return "", errors.New("web: no JWT secret to sign with; tokens come from the identity provider")
	}
	if err := a.checkUserID(userID); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", errors.New("web: a token needs a positive lifetime")
	}
	now := a.now()
	claims := jwt.RegisteredClaims{
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.secret)
}

// Verify returns the user id of a valid token: its sub, which must be a
// usable user id whichever verifier took it. An HS256 token must be
// signed with the secret, not expired (with 30 seconds of clock skew) and
// not used before its nbf; a token of the identity provider is checked as
// issuer.Verify says. An error wrapping ErrIssuerUnavailable says the
// token could not be checked at all.
func (a *Auth) Verify(ctx context.Context, token string) (string, error) {
	var sub string
	var err error
	switch alg := algorithmOf(token); {
	case alg == jwt.SigningMethodHS256.Alg() && a.secret != nil:
		sub, err = a.verifySecret(token)
	case a.issuer != nil && slices.Contains(oidcAlgorithms, jose.SignatureAlgorithm(alg)):
		sub, err = a.issuer.Verify(ctx, token)
	default:
		return "", fmt.Errorf("web: no verifier takes tokens signed with %q", alg)
	}
	if err != nil {
		return "", err
	}
	if err := a.checkUserID(sub); err != nil {
		return "", err
	}
	return sub, nil
}

func (a *Auth) verifySecret(token string) (string, error) {
	var claims jwt.RegisteredClaims
	if _, err := a.parser.ParseWithClaims(token, &claims, a.key); err != nil {
		return "", err
	}
	return claims.Subject, nil
}

func (a *Auth) key(*jwt.Token) (any, error) { return a.secret, nil }

// algorithmOf returns the alg of token's header, "" when token is no JWT.
// It only picks the verifier; the verifier checks the signature.
func algorithmOf(token string) string {
	t, _, err := jwt.NewParser().ParseUnverified(token, &jwt.RegisteredClaims{})
	if err != nil {
		return ""
	}
	alg, _ := t.Header["alg"].(string)
	return alg
}

// Require lets a request through only with a valid bearer token, putting
// its sub into the context for UserID. Otherwise it answers 401 with
// WWW-Authenticate, or 503 with Retry-After when the identity provider
// could not be read to check the token; why a token failed is logged
// (at debug level for a bad token) and never told to the caller.
func (a *Auth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			WriteProblem(w, NewProblem(http.StatusUnauthorized, "a bearer token is required"))
			return
		}
		userID, err := a.Verify(r.Context(), token)
		switch {
		case errors.Is(err, ErrIssuerUnavailable):
			Log(r.Context()).Warnw("bearer token not checked", "error", err)
			WriteProblem(w, NewProblem(http.StatusServiceUnavailable, "the identity provider cannot be reached to check the token; try again shortly"))
			return
		case err != nil:
			Log(r.Context()).Debugw("bearer token rejected", "error", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="carrot", error="invalid_token"`)
			WriteProblem(w, NewProblem(http.StatusUnauthorized, "the bearer token is invalid or expired"))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithUserID(r.Context(), userID)))
	})
}

// bearer extracts the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 9110, section 11.1).
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// checkUserID is the one place where a user id meets the domain's rule,
// whether Issue is asked for it or Verify reads it from a token of either
// kind. Its error does not repeat the id, which may be long or unprintable.
func (a *Auth) checkUserID(id string) error {
	if !a.isUserID(id) {
		return errors.New("web: not a user id carrot accepts")
	}
	return nil
}

type userIDKey struct{}

// WithUserID returns ctx carrying an authenticated user id. Require calls
// it; tests of handlers may call it instead of issuing tokens.
func WithUserID(ctx context.Context, userID string) context.Context {
	return context.WithValue(ctx, userIDKey{}, userID)
}

// UserID returns the authenticated user of ctx, "" outside Require.
func UserID(ctx context.Context) string {
	id, _ := ctx.Value(userIDKey{}).(string)
	return id
}
