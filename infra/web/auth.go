package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
)

// SecretEnv names the environment variable holding the JWT signing key.
const SecretEnv = "CARROT_JWT_SECRET"

// MinSecretBytes is the shortest key NewAuth accepts: HS256 needs a key at
// least as long as its 256-bit hash (RFC 7518, section 3.2).
const MinSecretBytes = 32

// maxUserID bounds the sub claim; ids end up in keys and events.
const maxUserID = 128

// clockSkew is how far the clocks of the token issuer and this function
// may disagree when exp and nbf are checked.
const clockSkew = 30 * time.Second

// Auth verifies and issues HS256 bearer tokens whose sub is the user id.
// It is safe for concurrent use.
type Auth struct {
	secret []byte
	parser *jwt.Parser
	now    func() time.Time
}

// NewAuth returns an Auth signing and verifying with secret. It fails when
// the secret is shorter than MinSecretBytes, so that a misconfigured
// function stops at wiring time instead of accepting forgeable tokens.
func NewAuth(secret []byte) (*Auth, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("web: the JWT secret must be at least %d bytes, got %d", MinSecretBytes, len(secret))
	}
	a := &Auth{secret: append([]byte(nil), secret...), now: time.Now}
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

// AuthFromEnv returns NewAuth with the key in $CARROT_JWT_SECRET.
func AuthFromEnv() (*Auth, error) {
	s := os.Getenv(SecretEnv)
	if s == "" {
		return nil, fmt.Errorf("web: $%s is not set", SecretEnv)
	}
	return NewAuth([]byte(s))
}

// Issue returns a token for userID that expires after ttl. It serves
// development tools and tests; production tokens may come from any issuer
// that shares the key.
func (a *Auth) Issue(userID string, ttl time.Duration) (string, error) {
	if err := checkUserID(userID); err != nil {
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

// Verify returns the user id of a valid token: signed with HS256 and this
// key, not expired, not used before its nbf, and with a usable sub.
func (a *Auth) Verify(token string) (string, error) {
	var claims jwt.RegisteredClaims
	if _, err := a.parser.ParseWithClaims(token, &claims, a.key); err != nil {
		return "", err
	}
	if err := checkUserID(claims.Subject); err != nil {
		return "", err
	}
	return claims.Subject, nil
}

func (a *Auth) key(*jwt.Token) (any, error) { return a.secret, nil }

// Require lets a request through only with a valid bearer token, putting
// its sub into the context for UserID. Otherwise it answers 401 with
// WWW-Authenticate; why a token failed is logged at debug level and never
// told to the caller.
func (a *Auth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			WriteProblem(w, NewProblem(http.StatusUnauthorized, "a bearer token is required"))
			return
		}
		userID, err := a.Verify(token)
		if err != nil {
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

func checkUserID(id string) error {
	if id == "" || len(id) > maxUserID {
		return fmt.Errorf("web: a user id must have 1 to %d bytes", maxUserID)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return errors.New("web: a user id must be printable and without spaces")
		}
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
