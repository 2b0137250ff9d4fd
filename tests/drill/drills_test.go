package drill

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/tests/system"
)

// TestNotLocal points the drills at a server without /_local routes, as a
// cluster's gateway: the drills that need the runtime's controls are
// skipped with what to do by hand, and the controls refuse to run.
func TestNotLocal(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	ctx := context.Background()
	client, err := system.Attach(ctx, system.ClientConfig{Gateway: srv.URL})
	require.NoError(t, err)
	assert.False(t, client.Local)
	env := NewEnv(client, Config{})
	for _, d := range All {
		if !d.NeedsLocal {
			continue
		}
		rep, err := d.RunOn(ctx, env, Options{Short: true})
		require.NoError(t, err)
		assert.Contains(t, rep.Skipped, d.Kubectl, "drill %s", d.Name)
	}
	assert.ErrorIs(t, env.SetKafka(ctx, false), ErrNotLocal)
	_, err = env.Status(ctx)
	assert.ErrorIs(t, err, ErrNotLocal)
}

// TestEveryDrillIsFound checks the names the command and make drill take.
func TestEveryDrillIsFound(t *testing.T) {
	want := []string{"overload", "autoscale", "coldstart", "paymentdown", "brokerdown", "retry", "faults", "rollout", "selfheal"}
	require.Len(t, All, len(want))
	for i, name := range want {
		assert.Equal(t, name, All[i].Name)
		_, ok := Find(name)
		assert.True(t, ok, name)
	}
}
