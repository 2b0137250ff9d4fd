package tests

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/carrot-market/carrot"

// TestDependenciesPointInward keeps the layers honest (STYLE.md rule 1):
// the domain knows no transport, storage or event package, the published
// language knows no domain, use cases know no adapter, the HTTP plumbing
// knows no domain, no adapter names another, and only the functions'
// wiring names concrete adapters.
func TestDependenciesPointInward(t *testing.T) {
	pkgs := listPackages(t)
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{module + "/functions/market", []string{"net/http", "github.com/aws/", "github.com/twmb/", "github.com/cloudevents/", module + "/events", module + "/infra", module + "/functions/app"}},
		{module + "/events", []string{module + "/functions", module + "/infra", "github.com/aws/", "net/http"}},
		{module + "/functions/app", []string{"net/http", "github.com/aws/", "github.com/twmb/", module + "/infra", module + "/functions/rest"}},
		{module + "/functions/rest", []string{"github.com/aws/", "github.com/twmb/", module + "/infra/dynamo"}},
		// The registry is data that wiring, deploy and tests read; it names
		// no adapter.
		{module + "/functions/registry", []string{"github.com/aws/", "github.com/twmb/", module + "/infra", module + "/functions/rest"}},
		// The HTTP plumbing is domain-free: infra/edge hands it the
		// translation of the domain's errors. It may use events (traceparent).
		{module + "/infra/web", []string{module + "/functions"}},
		// The gateway holds no business logic: it routes by the registry
		// and names no domain, use case, handler, error translation or
		// store.
		{module + "/infra/gateway", []string{module + "/functions/market", module + "/functions/app", module + "/functions/rest",
			module + "/infra/edge", module + "/infra/dynamo", module + "/infra/memory", module + "/infra/outbox", "github.com/aws/", "github.com/twmb/"}},
		// The Idempotency-Key port between web and the stores is a leaf.
		{module + "/infra/idempotency", []string{module + "/"}},
	}
	for _, rule := range rules {
		imports, ok := pkgs[rule.pkg]
		require.True(t, ok, "package %s is missing", rule.pkg)
		for _, imp := range imports {
			for _, bad := range rule.forbidden {
				assert.False(t, strings.HasPrefix(imp, bad), "%s must not import %s", rule.pkg, imp)
			}
		}
	}
	// No adapter names another adapter: only the wiring (infra/boot,
	// infra/local) puts them together. Each may import its own packages
	// and those listed: broker and serving answer problems and log through
	// infra/web, the domain-free HTTP plumbing, and through no other; the
	// stores run units of work with infra/optimistic and implement the
	// Idempotency-Key port of infra/idempotency, and broker and serving read
	// knative/ with infra/manifest; and any of them records metrics with
	// infra/telemetry. None of these is an adapter.
	adapters := map[string][]string{
		"web":     {"idempotency", "telemetry"}, // web is plumbing, and the rule holds for it too
		"dynamo":  {"optimistic", "idempotency", "telemetry"},
		"memory":  {"optimistic", "idempotency", "telemetry"},
		"outbox":  {"telemetry"},
		"broker":  {"web", "manifest", "telemetry"},
		"serving": {"web", "manifest", "telemetry"},
	}
	for adapter, allowed := range adapters {
		root := module + "/infra/" + adapter
		_, ok := pkgs[root]
		require.True(t, ok, "package %s is missing", root)
		for pkg, imports := range pkgs {
			if pkg != root && !strings.HasPrefix(pkg, root+"/") {
				continue
			}
			for _, imp := range imports {
				if !strings.HasPrefix(imp, module+"/infra/") || imp == root || strings.HasPrefix(imp, root+"/") {
					continue
				}
				assert.True(t, slices.Contains(allowed, strings.TrimPrefix(imp, module+"/infra/")),
					"adapter %s must not import the adapter %s", pkg, imp)
			}
		}
	}
	for pkg, imports := range pkgs {
		if strings.HasPrefix(pkg, module+"/infra") || strings.HasPrefix(pkg, module+"/tests") {
			continue
		}
		for _, imp := range imports {
			if strings.HasPrefix(imp, module+"/infra/dynamo") {
				assert.Fail(t, "only adapters and wiring may name the DynamoDB adapter", "%s imports %s", pkg, imp)
			}
		}
	}
}

// listPackages returns every package of the module with its direct imports.
func listPackages(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	require.NoError(t, err)
	pkgs := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs[p.ImportPath] = p.Imports
	}
	return pkgs
}
