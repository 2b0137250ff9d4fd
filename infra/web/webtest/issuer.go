package webtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
	"github.com/stretchr/testify/require"
)

// Issuer is an OpenID Connect identity provider for tests: go-oidc's test
// server (discovery document and JWKS) on an httptest server, with RSA and
// EC keys that can be published and retired while it serves, a switch
// that cuts it off, and a count of the requests it got. It is safe for
// concurrent use.
type Issuer struct {
	// URL is the issuer URL, the iss of its tokens.
	URL string

	mu       sync.Mutex
	server   oidctest.Server
	private  map[string]crypto.Signer // every key ever made, by key id
	down     bool
	requests map[string]int // by path, answered or cut off
}

// NewIssuer starts an issuer without keys; AddKey makes them.
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	i := &Issuer{
		server:   oidctest.Server{Algorithms: []string{oidc.RS256, oidc.ES256}},
		private:  map[string]crypto.Signer{},
		requests: map[string]int{},
	}
	srv := httptest.NewServer(i)
	tb.Cleanup(srv.Close)
	i.URL = srv.URL
	i.server.SetIssuer(srv.URL)
	return i
}

// ServeHTTP answers as go-oidc's test server does, or, while the issuer is
// down, drops the connection without an answer.
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.requests[r.URL.Path]++
	if i.down {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	i.server.ServeHTTP(w, r)
}

// AddKey makes a key for alg (oidc.RS256 or oidc.ES256), publishes it in
// the JWKS, and returns its key id.
func (i *Issuer) AddKey(tb testing.TB, alg string) string {
	tb.Helper()
	var key crypto.Signer
	var err error
	switch alg {
	case oidc.RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case oidc.ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		err = errors.New("webtest: no keys for " + alg)
	}
	require.NoError(tb, err)
	i.mu.Lock()
	defer i.mu.Unlock()
	kid := alg + "-" + strconv.Itoa(len(i.private)+1)
	i.private[kid] = key
	i.server.PublicKeys = append(i.server.PublicKeys, oidctest.PublicKey{PublicKey: key.Public(), KeyID: kid, Algorithm: alg})
	return kid
}

// RetireKey takes the key out of the JWKS; Sign still signs with it.
func (i *Issuer) RetireKey(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.server.PublicKeys = slices.DeleteFunc(i.server.PublicKeys, func(k oidctest.PublicKey) bool { return k.KeyID == kid })
}

// PublicKey returns the public half of key kid.
func (i *Issuer) PublicKey(kid string) crypto.PublicKey {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.private[kid].Public()
}

// SetDown cuts the issuer off (true) or brings it back (false).
func (i *Issuer) SetDown(down bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.down = down
}

// KeyReads returns how many times the JWKS was asked for.
func (i *Issuer) KeyReads() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.requests["/keys"]
}

// Claims returns the claims of a token of this issuer for sub and
// audience, issued at now and valid for an hour. Tests change them at will.
func (i *Issuer) Claims(sub, audience string, now time.Time) map[string]any {
	return map[string]any{"iss": i.URL, "aud": audience, "sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// Sign returns claims signed with key kid, with kid in the header. The
// algorithm is the key's own.
func (i *Issuer) Sign(tb testing.TB, kid string, claims map[string]any) string {
	tb.Helper()
	return i.SignAs(tb, kid, kid, claims)
}

// SignAs is Sign with headerKID in the header instead of kid's own id.
func (i *Issuer) SignAs(tb testing.TB, kid, headerKID string, claims map[string]any) string {
	tb.Helper()
	i.mu.Lock()
	key, ok := i.private[kid]
	i.mu.Unlock()
	require.True(tb, ok, "webtest: no key "+kid)
	alg := oidc.RS256
	if _, ec := key.(*ecdsa.PrivateKey); ec {
		alg = oidc.ES256
	}
	raw, err := json.Marshal(claims)
	require.NoError(tb, err)
	return oidctest.SignIDToken(key, headerKID, alg, string(raw))
}
