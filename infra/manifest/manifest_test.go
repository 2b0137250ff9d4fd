package manifest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/carrot-market/carrot/infra/manifest"
)

const twoDocuments = `
# A comment-only document comes first.
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
---
apiVersion: example.test/v1
kind: Gadget
metadata: {name: unknown-kind}
---
`

// mustFolder writes files into a new folder and returns it.
func mustFolder(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		require.NoError(tb, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700))
		require.NoError(tb, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

func TestLoadReadsEveryDocumentIntoItsKind(t *testing.T) {
	t.Parallel()
	docs, err := manifest.Read(strings.NewReader(twoDocuments), "two.yaml")

	require.NoError(t, err)
	require.Len(t, docs, 2, "empty documents are skipped")
	assert.Equal(t, "two.yaml, document 2", docs[0].String())
	cm, ok := docs[0].Object.(*corev1.ConfigMap)
	require.True(t, ok, "a ConfigMap decodes into corev1.ConfigMap")
	assert.Equal(t, map[string]string{"a": "1"}, cm.Data)
	assert.Equal(t, "Gadget", docs[1].Kind)
	assert.Nil(t, docs[1].Object, "a kind the package does not know is left to the caller")
}

func TestLoadReadsTheYAMLFilesDirectlyInAFolder(t *testing.T) {
	t.Parallel()
	dir := mustFolder(t, map[string]string{
		"b.yml": `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: t}
spec: {broker: b, subscriber: {uri: "http://example.test/"}}
`,
		"a.yaml": `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: b}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: {name: dead}
spec: {topic: dead-letters, contentMode: structured, bootstrapServers: [x:9092]}
`,
		"README.md":      "not a manifest",
		"sub/other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nested}\n",
	})

	docs, err := manifest.Load(dir)
	require.NoError(t, err)
	file, err := manifest.Load(filepath.Join(dir, "b.yml"))
	require.NoError(t, err)

	require.Len(t, docs, 3)
	assert.Equal(t, []string{"Broker", "KafkaSink", "Trigger"}, []string{docs[0].Kind, docs[1].Kind, docs[2].Kind}, "files in name order")
	sinks := manifest.Objects[*manifest.KafkaSink](docs)
	require.Len(t, sinks, 1)
	assert.Equal(t, "dead-letters", sinks[0].Spec.Topic)
	assert.Len(t, manifest.Objects[*eventingv1.Trigger](docs), 1)
	assert.Empty(t, manifest.Objects[*servingv1.Service](docs))
	require.Len(t, file, 1, "a file is read on its own")
	assert.Equal(t, filepath.Join(dir, "b.yml"), file[0].Path)
}

func TestLoadFailsFast(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		manifest string
		want     string
	}{
		"unknown field": {
			"apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: fn}\nspec: {template: {spec: {containerConcurency: 1}}}\n",
			"unknown field",
		},
		"unknown KafkaSink field": {
			"apiVersion: eventing.knative.dev/v1alpha1\nkind: KafkaSink\nmetadata: {name: s}\nspec: {topik: t}\n",
			"unknown field",
		},
		"no kind":  {"apiVersion: v1\nmetadata: {name: what}\n", "needs apiVersion and kind"},
		"not YAML": {"apiVersion: [v1\n", "document 1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := manifest.Load(mustFolder(t, map[string]string{"bad.yaml": tc.manifest}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "bad.yaml")
		})
	}
	_, err := manifest.Load(filepath.Join(t.TempDir(), "missing"))
	assert.Error(t, err, "a missing folder is an error, not an empty list")
}
