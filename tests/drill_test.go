package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/tests/drill"
	"github.com/carrot-market/carrot/tests/system"
)

// TestDrill runs the shortened form of every drill of tests/drill on
// running systems, as `go run ./tests/drill/cmd/drill -short` would, and
// asserts every check that is not about timing. Drills that do not
// disturb each other share a system and run one after the other; the
// systems run in parallel.
//
// The failures' system runs every function on one instance at most
// (CARROT_MAX_SCALE=1), which none of its drills needs more than, so that
// the overload drill can exceed request-chat's capacity (110 requests
// then, 550 at its max-scale of 5) with a load that a CI machine sends
// easily: its 503s, their Retry-After and the absence of a reservation
// behind any of them are asserted there.
func TestDrill(t *testing.T) {
	t.Parallel()
	groups := map[string]struct {
		opts   system.Options
		drills []string
	}{
		// Load and scaling: the functions' instances come and go.
		"scaling": {system.Options{IdleGrace: 3 * time.Second}, []string{"autoscale", "coldstart", "rollout", "selfheal"}},
		// Failures of a function and of the broker, deliveries, and a
		// function beyond its capacity.
		"failures": {system.Options{IdleGrace: 3 * time.Second, MaxScale: 1}, []string{"paymentdown", "brokerdown", "retry", "overload"}},
		// Deals in flight while each consumer and then Kafka is down, with
		// the invariant checker after each heal: on a system of its own,
		// so that the checker sees only this drill's deals and no other
		// drill's dead letters are re-driven.
		"faults": {system.Options{IdleGrace: 3 * time.Second}, []string{"faults"}},
	}
	for name, group := range groups {
		t.Run(name, func(t *testing.T) {
			sys := MustStart(t, group.opts)
			env := mustDrillEnv(t, sys, group.opts)
			for _, name := range group.drills {
				t.Run(name, func(t *testing.T) { runDrill(t, sys, env, name) })
			}
			sys.MustStop(t)
		})
	}
}

// mustDrillEnv points the drills at sys, started with opts.
func mustDrillEnv(t *testing.T, sys *System, opts system.Options) *drill.Env {
	t.Helper()
	env := drill.NewEnv(sys.Client, drill.Config{
		Services:      filepath.Join(repoRoot, "knative", "services"),
		MaxScaleLimit: opts.MaxScale,
	})
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
	const shed = "the excess above capacity was refused with 503"
	if name == "overload" {
		// Half again as many buyers as the function holds: the runtime
		// must refuse the rest.
		capacity, known := drill.ChatCapacity(env)
		require.True(t, known, "request-chat's capacity is unknown")
		opts.Concurrency = capacity.Total() * 3 / 2
	}
	rep, err := d.RunOn(ctx, env, opts)
	require.NotNil(t, rep)
	require.NoError(t, rep.Save(t.TempDir()))
	var table strings.Builder
	require.NoError(t, rep.WriteTable(&table))
	t.Logf("\n%s", table.String())
	require.NoError(t, err, "drill %s could not finish", name)
	require.Empty(t, rep.Skipped)
	require.NotEmpty(t, rep.Checks, "drill %s checked nothing", name)
	assert.Empty(t, rep.Failed(), "drill %s: failed checks", name)
	assert.FileExists(t, rep.Chart)
	if name == "overload" {
		checked := slices.ContainsFunc(rep.Checks, func(c drill.Check) bool { return c.Name == shed })
		assert.True(t, checked, "the overload drill did not check its 503s: %+v", rep.Checks)
	}
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
