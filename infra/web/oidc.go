package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// IssuerEnv names the variable holding the issuer URL of the OpenID
// Connect identity provider whose tokens are accepted (the carrot-config
// key oidc-issuer in a cluster).
const IssuerEnv = "CARROT_OIDC_ISSUER"

// AudienceEnv names the variable holding the client id those tokens must
// name in aud (the carrot-config key oidc-audience).
const AudienceEnv = "CARROT_OIDC_AUDIENCE"

// DefaultRefetchEvery and DefaultKeysMaxAge are OIDCConfig's defaults.
const (
	DefaultRefetchEvery = 10 * time.Second
	DefaultKeysMaxAge   = 10 * time.Minute
)

// readTimeout bounds a read of the provider, discovery and keys together,
// whatever the client.
const readTimeout = 10 * time.Second

// maxKeySetBytes bounds what is read of a key set; real ones are a few
// kilobytes.
const maxKeySetBytes = 1 << 20

// ErrIssuerUnavailable wraps every failure to read the identity provider's
// discovery document or keys. Require answers it with 503 and Retry-After:
// the token may well be valid, it cannot be checked now.
var ErrIssuerUnavailable = errors.New("web: the identity provider cannot be reached")

// oidcAlgorithms are the only signatures taken from an identity provider.
// Neither "none" nor a symmetric algorithm is among them, so no public key
// can ever serve as an HMAC secret.
var oidcAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// OIDCConfig names an OpenID Connect identity provider whose tokens an Auth
// accepts. The zero value names none. Zero durations, clock and client
// take the defaults.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, exactly as the iss claim of its
	// tokens spells it; its discovery document is at
	// Issuer/.well-known/openid-configuration. It must be https, or http
	// on a loopback address (a test, a laptop).
	Issuer string
	// Audience must be one of a token's aud values: the client id the
	// provider issues carrot's tokens for.
	Audience string
	// RefetchEvery is the least time between two reads of the provider
	// (its discovery document or its keys), however many tokens name keys
	// it does not know.
	RefetchEvery time.Duration
	// KeysMaxAge is how long keys are used without reading them again: the
	// first token after that reads them, so a key the provider retired
	// stops verifying even when no token names a new one.
	KeysMaxAge time.Duration
	// Client reads the provider; nil is http.DefaultClient.
	Client *http.Client
	// Now is the clock of the exp and nbf checks and of the durations
	// above; nil is time.Now.
	Now func() time.Time
}

// configured reports whether c names a provider at all.
func (c OIDCConfig) configured() bool { return c.Issuer != "" || c.Audience != "" }

func (c *OIDCConfig) setDefaults() {
	if c.RefetchEvery == 0 {
		c.RefetchEvery = DefaultRefetchEvery
	}
	if c.KeysMaxAge == 0 {
		c.KeysMaxAge = DefaultKeysMaxAge
	}
	if c.Client == nil {
		c.Client = http.DefaultClient
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every problem of a configured provider at once. It
// reads nothing from the provider: a function starts while it is down.
func (c OIDCConfig) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Issuer); err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("%s %q is not an issuer URL (https://host[/path])", IssuerEnv, c.Issuer))
	} else if !isSecure(u) {
		errs = append(errs, fmt.Errorf("%s %q must be https (http only on a loopback address)", IssuerEnv, c.Issuer))
	}
	if c.Audience == "" {
		errs = append(errs, fmt.Errorf("%s is required with an issuer: the client id its tokens name in aud", AudienceEnv))
	}
	if c.RefetchEvery < 0 || c.KeysMaxAge < 0 {
		errs = append(errs, errors.New("the OIDC refetch interval and key age must not be negative"))
	}
	return errors.Join(errs...)
}

// isSecure reports whether u is https, or http on a loopback address,
// where nothing travels over a network.
func isSecure(u *url.URL) bool {
	ip := net.ParseIP(u.Hostname())
	return u.Scheme == "https" || (u.Scheme == "http" && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())))
}

// issuer verifies the tokens of one identity provider with go-oidc, on
// keys it keeps itself: go-oidc's RemoteKeySet reads the JWKS again for
// every token that names a key it lacks, without bound, and trusts a key
// the provider retired until then. It reads nothing until the first token,
// and is safe for concurrent use. Its guarantees:
//   - the discovery document is read once, at the first token, and kept;
//   - the keys are read at the first token, again when a token names a key
//     they lack, and again once they are older than KeysMaxAge;
//   - at most one read leaves every RefetchEvery, however many tokens name
//     unknown keys: in between such a token is refused without asking, and
//     a read that failed is answered with its error, not retried;
//   - a failed read wraps ErrIssuerUnavailable and keeps the keys read
//     before: a token signed with one of them is still accepted, so an
//     outage of the provider locks out only tokens of keys never seen.
type issuer struct {
	cfg      OIDCConfig
	verifier *oidc.IDTokenVerifier

	reading sync.Mutex // held for a read, so concurrent tokens wait for one
	jwksURL string     // from discovery; guarded by reading

	mu      sync.RWMutex
	keys    []jose.JSONWebKey
	readAt  time.Time // when keys were read
	triedAt time.Time // when the last read started, whatever came of it
	failure error     // of the last read; nil when it succeeded
}

func newIssuer(c OIDCConfig) (*issuer, error) {
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	i := &issuer{cfg: c}
	algs := make([]string, len(oidcAlgorithms))
	for n, a := range oidcAlgorithms {
		algs[n] = string(a)
	}
	i.verifier = oidc.NewVerifier(c.Issuer, i, &oidc.Config{ClientID: c.Audience, SupportedSigningAlgs: algs, Now: c.Now})
	return i, nil
}

// Verify returns the sub of a token the provider signed with RS256 or
// ES256 for the audience, checking iss, aud, exp and nbf (go-oidc allows
// nbf five minutes of clock skew, exp none).
func (i *issuer) Verify(ctx context.Context, token string) (string, error) {
	jws, err := jose.ParseSignedCompact(token, oidcAlgorithms)
	if err != nil {
		return "", err
	}
	if err := i.ensureKey(ctx, jws.Signatures[0].Header.KeyID); err != nil {
		return "", err
	}
	t, err := i.verifier.Verify(ctx, token)
	if err != nil {
		return "", err
	}
	return t.Subject, nil
}

// VerifySignature implements oidc.KeySet on the keys read last. It never
// reads the provider: Verify has done so when needed.
func (i *issuer) VerifySignature(_ context.Context, token string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, oidcAlgorithms)
	if err != nil {
		return nil, err
	}
	kid := jws.Signatures[0].Header.KeyID
	i.mu.RLock()
	keys := i.keys
	i.mu.RUnlock()
	for _, k := range keys {
		if kid == "" || k.KeyID == kid {
			if payload, err := jws.Verify(&k); err == nil {
				return payload, nil
			}
		}
	}
	return nil, errors.New("no key of the identity provider verifies the signature")
}

// ensureKey makes sure the keys are fresh enough and hold kid ("" is any
// key), reading the provider when the guarantees of issuer allow it.
func (i *issuer) ensureKey(ctx context.Context, kid string) error {
	if i.hasKey(kid, true) {
		return nil
	}
	i.reading.Lock()
	defer i.reading.Unlock()
	if i.hasKey(kid, true) {
		return nil // read by the token this one waited for
	}
	i.mu.RLock()
	recent := !i.triedAt.IsZero() && i.cfg.Now().Sub(i.triedAt) < i.cfg.RefetchEvery
	failure := i.failure
	i.mu.RUnlock()
	if !recent {
		failure = i.read(ctx)
	}
	switch {
	case i.hasKey(kid, false):
		return nil
	case failure != nil:
		return failure
	default:
		return fmt.Errorf("web: the identity provider has no key %q", kid)
	}
}

// hasKey reports whether the keys hold kid and, when fresh is set, were
// read less than KeysMaxAge ago.
func (i *issuer) hasKey(kid string, fresh bool) bool {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if fresh && (i.readAt.IsZero() || i.cfg.Now().Sub(i.readAt) >= i.cfg.KeysMaxAge) {
		return false
	}
	for _, k := range i.keys {
		if kid == "" || k.KeyID == kid {
			return true
		}
	}
	return false
}

// read reads the discovery document unless it has, then the keys, and
// records the outcome. The caller holds reading. A caller that hangs up
// does not cut the read short: its failure would be kept for RefetchEvery.
func (i *issuer) read(ctx context.Context) error {
	started := i.cfg.Now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
	defer cancel()
	keys, err := i.fetchKeys(oidc.ClientContext(ctx, i.cfg.Client))
	if err != nil {
		err = fmt.Errorf("%w: %s: %w", ErrIssuerUnavailable, i.cfg.Issuer, err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.triedAt, i.failure = started, err
	if err == nil {
		i.keys, i.readAt = keys, started
	}
	return err
}

func (i *issuer) fetchKeys(ctx context.Context) ([]jose.JSONWebKey, error) {
	if i.jwksURL == "" {
		p, err := oidc.NewProvider(ctx, i.cfg.Issuer)
		if err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		var doc struct {
			JWKSURL string `json:"jwks_uri"`
		}
		if err := p.Claims(&doc); err != nil || doc.JWKSURL == "" {
			return nil, errors.New("discovery: the document names no jwks_uri")
		}
		if u, err := url.Parse(doc.JWKSURL); err != nil || !isSecure(u) {
			return nil, fmt.Errorf("discovery: jwks_uri %q is not https", doc.JWKSURL)
		}
		i.jwksURL = doc.JWKSURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, i.jwksURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := i.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("keys: %s answered %s", i.jwksURL, res.Status)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxKeySetBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("keys: %s: %w", i.jwksURL, err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		// A key of a type go-jose does not know, a symmetric or an
		// encryption key is skipped, as RFC 7517 (section 5) asks.
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil || k.Use == "enc" {
			continue
		}
		if pub := k.Public(); pub.Valid() {
			keys = append(keys, pub)
		}
	}
	return keys, nil
}
