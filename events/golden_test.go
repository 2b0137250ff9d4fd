package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
)

// update rewrites the golden files: go test ./events -run Golden -update.
// Review the diff: a changed golden file is a changed published language,
// which for a released type means a new version instead.
var update = flag.Bool("update", false, "rewrite events/testdata/*.json from the current code")

func goldenPath(t events.Type) string { return filepath.Join("testdata", string(t)+".json") }

// structured is the CloudEvents structured-mode JSON of e, indented so that a
// golden diff reads well.
func structured(tb testing.TB, e cloudevents.Event) []byte {
	tb.Helper()
	raw, err := json.Marshal(e)
	require.NoError(tb, err)
	var out bytes.Buffer
	require.NoError(tb, json.Indent(&out, raw, "", "  "))
	out.WriteByte('\n')
	return out.Bytes()
}

func TestGolden(t *testing.T) {
	// Not parallel: with -update it writes the files the other golden tests read.
	for _, f := range fixtures() {
		t.Run(string(f.typ), func(t *testing.T) {
			got := structured(t, MustNew(t, context.Background(), f))
			path := goldenPath(f.typ)
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "no golden file; run go test ./events -run TestGolden -update")
			assert.Equal(t, string(want), string(got), "the JSON of %s changed", f.typ)
		})
	}
}

func TestGoldenFilesMatchTypes(t *testing.T) {
	t.Parallel()
	var want []string
	for _, typ := range events.Types() {
		want = append(want, string(typ)+".json")
	}
	var fixtured []string
	for _, f := range fixtures() {
		fixtured = append(fixtured, string(f.typ)+".json")
	}
	entries, err := os.ReadDir("testdata")
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	slices.Sort(fixtured)
	slices.Sort(got)
	assert.Equal(t, want, fixtured, "every type needs exactly one fixture")
	assert.Equal(t, want, got, "every type needs a golden file, and no golden file may outlive its type")
}

// TestDecodeGolden reads every golden file the way a consumer receives it and
// requires the payload and attributes the producer meant.
func TestDecodeGolden(t *testing.T) {
	t.Parallel()
	for _, f := range fixtures() {
		t.Run(string(f.typ), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(goldenPath(f.typ))
			require.NoError(t, err)
			var e cloudevents.Event
			require.NoError(t, json.Unmarshal(raw, &e))

			got, err := events.Decode(e)
			require.NoError(t, err)
			assert.Equal(t, f.payload, got)

			assert.Equal(t, cloudevents.VersionV1, e.SpecVersion())
			assert.Equal(t, string(f.typ), e.Type())
			assert.Equal(t, f.id, e.ID())
			assert.Equal(t, f.source, e.Source())
			assert.Equal(t, f.subject, e.Subject())
			assert.True(t, eventTime.Equal(e.Time()), "time %v", e.Time())
			assert.Equal(t, cloudevents.ApplicationJSON, e.DataContentType())
			assert.Equal(t, map[string]any{events.PartitionKeyExtension: f.itemID}, e.Extensions())

			assert.Equal(t, string(raw), string(structured(t, e)), "a decoded event marshals back to the same JSON")
		})
	}
}
