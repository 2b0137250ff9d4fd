package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/tests/drill"
)

// TestDrill runs the shortened form of every drill of tests/drill on
// running systems, as `go run ./tests/drill/cmd/drill -short` would, and
// asserts every check that is not about timing. Drills that do not
// disturb each other share a system and run one after the other; the two
// systems run in parallel.
func TestDrill(t *testing.T) {
	t.Parallel()
	groups := map[string][]string{
		// Load and scaling: the functions' instances come and go.
		"scaling": {"overload", "autoscale", "coldstart", "rollout", "selfheal"},
		// Failures of a function and of the broker, and deliveries.
		"failures": {"paymentdown", "brokerdown", "retry"},
	}
	for name, drills := range groups {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sys := MustStart(t, Options{IdleGrace: 3 * time.Second})
			env := mustDrillEnv(t, sys)
			for _, name := range drills {
				t.Run(name, func(t *testing.T) { runDrill(t, sys, env, name) })
			}
			sys.Stop(t)
		})
	}
}

// mustDrillEnv points the drills at sys.
func mustDrillEnv(t *testing.T, sys *System) *drill.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := drill.NewEnv(ctx, drill.Config{
		BaseURL: sys.Gateway, ClusterURL: sys.Cluster,
		Services: filepath.Join(repoRoot, "knative", "services"),
	})
	require.NoError(t, err)
	require.True(t, env.Local, "the runtime's /_local routes do not answer")
	require.NotEmpty(t, env.Specs, "the manifests were not read")
	return env
}

// runDrill runs the short form of the drill called name, saves its report
// and chart, and asserts its checks.
func runDrill(t *testing.T, sys *System, env *drill.Env, name string) {
	d, ok := drill.Find(name)
	require.True(t, ok, "no drill %s", name)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := drill.Options{Short: true, ScaleDownWait: settle, Settle: settle, Logf: t.Logf}
	rep, err := d.RunOn(ctx, env, opts)
	require.NotNil(t, rep)
	require.NoError(t, rep.Save(t.TempDir()))
	var table strings.Builder
	require.NoError(t, rep.WriteTable(&table))
	t.Logf("\n%s", table.String())
	require.NoError(t, err, "drill %s could not finish", name)
	require.Empty(t, rep.Skipped)
	require.NotEmpty(t, rep.Checks, "drill %s checked nothing", name)
	for _, c := range rep.Checks {
		if !c.Timing {
			assert.True(t, c.OK, "%s: %s", c.Name, c.Detail)
		}
	}
	assert.FileExists(t, rep.Chart)
	if name == "retry" {
		assertPoisonDeadLettered(t, sys)
	}
}

// assertPoisonDeadLettered finds the retry drill's poison event on the
// dead-letter topic, with the subscriber's 400.
func assertPoisonDeadLettered(t *testing.T, sys *System) {
	t.Helper()
	for _, e := range sys.Events(t, deadLetterTopic) {
		if strings.HasPrefix(e.ID(), drill.PoisonPrefix) {
			assert.Equal(t, "400", fmt.Sprint(e.Extensions()["knativeerrorcode"]), "extensions %v", e.Extensions())
			return
		}
	}
	t.Errorf("no event %s* on topic %s", drill.PoisonPrefix, deadLetterTopic)
}
