package serving

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildNamesTheBinaryAfterThePackage(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "fakefn", filepath.Base(fakeBinary), "TestMain built it with Build")
	info, err := os.Stat(fakeBinary)
	require.NoError(t, err)
	assert.NotZero(t, info.Mode()&0o100, "the binary is executable")
}

func TestBuildFailureCarriesTheCompilerOutput(t *testing.T) {
	t.Parallel()
	_, err := Build(context.Background(), koScheme+"github.com/carrot-market/carrot/functions/no-such-function", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no-such-function")
}
