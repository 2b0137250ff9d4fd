package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/web"
)

// FunctionURLEnv is the environment variable of Config.FunctionURL; the
// gateway's manifest reads it from the function-url key of carrot-config.
const FunctionURLEnv = "CARROT_FUNCTION_URL"

// NamePlaceholder is where a function's name goes in Config.FunctionURL.
const NamePlaceholder = "{function}"

// UnavailableDetail is the detail of the 503 that answers a request whose
// function could not be reached. It names no function, address or cause:
// those are logged, never shown.
const UnavailableDetail = "the service is unavailable for a moment; retry later"

// Config is what the cluster's gateway needs to reach the functions.
type Config struct {
	// FunctionURL is the base URL of every function, with NamePlaceholder
	// where its name goes: in a cluster its cluster-local URL,
	// http://{function}.<namespace>.svc.cluster.local.
	FunctionURL string
}

// ConfigFromEnv reads $CARROT_FUNCTION_URL.
func ConfigFromEnv() Config {
	return Config{FunctionURL: os.Getenv(FunctionURLEnv)}
}

// Validate reports a FunctionURL the gateway cannot use: missing, without
// the placeholder, or not an absolute http or https URL without a query.
func (c Config) Validate() error {
	if _, err := c.urlOf("probe"); err != nil {
		return err
	}
	return nil
}

// urlOf is the base URL of function name.
func (c Config) urlOf(name string) (*url.URL, error) {
	if !strings.Contains(c.FunctionURL, NamePlaceholder) {
		return nil, fmt.Errorf("gateway: $%s %q has no %s where a function's name goes, as in http://%s.carrot.svc.cluster.local",
			FunctionURLEnv, c.FunctionURL, NamePlaceholder, NamePlaceholder)
	}
	u, err := url.Parse(strings.ReplaceAll(c.FunctionURL, NamePlaceholder, name))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("gateway: $%s %q is not an http or https URL such as http://%s.carrot.svc.cluster.local",
			FunctionURLEnv, c.FunctionURL, NamePlaceholder)
	}
	return u, nil
}

// Proxies are the Targets of the cluster's gateway: one reverse proxy per
// function that serves routes, to its URL, all on one pool of connections.
// A proxy keeps the request's method, path, query, body and headers (the
// caller's traceparent and X-Request-Id among them) and sends the
// function's answer back as it is, with one exception: when the function
// cannot be reached or fails mid-request, the caller gets a 503 problem
// with Retry-After and UnavailableDetail, never a 502 or internal text,
// and the cause is logged. An answer of the platform in front of the
// function (Knative's activator, queue-proxy or ingress) is one the
// gateway answers for (Mount).
type Proxies struct {
	proxies map[string]http.Handler
}

// NewProxies returns the proxies to every function of functions/registry
// that serves routes, at the URLs of c. It fails on a Config that does not
// validate.
func NewProxies(c Config) (*Proxies, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		// The function's own encoding reaches the caller untouched.
		DisableCompression: true,
	}
	p := &Proxies{proxies: map[string]http.Handler{}}
	for _, f := range registry.Routes() {
		if _, done := p.proxies[f.Name]; done {
			continue
		}
		target, err := c.urlOf(f.Name)
		if err != nil {
			return nil, err
		}
		p.proxies[f.Name] = newProxy(f.Name, target, transport)
	}
	return p, nil
}

// Handler returns the proxy to function, or a 404 answer for a function
// that serves no route.
func (p *Proxies) Handler(function string) http.Handler {
	if h, ok := p.proxies[function]; ok {
		return h
	}
	return http.HandlerFunc(web.NotFound)
}

func newProxy(name string, target *url.URL, transport http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			web.Log(r.Context()).Warnw("function unreachable", "target", name, "error", err,
				"requestId", r.Header.Get(web.RequestIDHeader))
			web.WriteProblem(w, web.NewProblem(http.StatusServiceUnavailable, UnavailableDetail))
		},
	}
}
