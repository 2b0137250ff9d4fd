package serving

import (
	"context"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Build compiles the Go package importPath (a ko:// image is accepted as
// is) with `go build -o` into outDir and returns the binary's path, named
// after the last element of the import path. It runs in the current
// directory, which must be inside a module that can resolve importPath.
// A failure carries the compiler's output.
//
// Two packages whose import paths end alike would share one binary in the
// same outDir; carrot's functions (functions/<name>) never do.
func Build(ctx context.Context, importPath, outDir string) (string, error) {
	importPath = strings.TrimPrefix(importPath, koScheme)
	out := filepath.Join(outDir, path.Base(importPath))
	output, err := exec.CommandContext(ctx, "go", "build", "-o", out, importPath).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("serving: go build %s: %w\n%s", importPath, err, output)
	}
	return out, nil
}
