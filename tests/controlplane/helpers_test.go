package controlplane_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/carrot-market/carrot/infra/manifest"
	"github.com/carrot-market/carrot/tests/controlplane"
)

func mustGetAs(t *testing.T, cp *controlplane.ControlPlane, gvk schema.GroupVersionKind, name string, into any) {
	obj, err := cp.Get(context.Background(), gvk, namespace, name)
	require.NoError(t, err)
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into))
}

func mustApplyAll(t *testing.T, cp *controlplane.ControlPlane, ns string, objs []controlplane.Object) {
	for _, obj := range objs {
		_, err := cp.Apply(context.Background(), obj, ns)
		require.NoError(t, err)
	}
}

// koApply stands for `ko apply`: every ko:// image becomes the image ko
// would push with KO_DOCKER_REPO=ko.local. Knative does not resolve tags
// of ko.local (config-deployment's registries-skipping-tag-resolving), so
// no registry is needed.
func koApply(s string) string {
	return koRef.ReplaceAllStringFunc(s, koImage)
}

var koRef = regexp.MustCompile(`ko://[^\s"']+`)

func koImage(ref string) string {
	return "ko.local/" + filepath.Base(strings.TrimPrefix(ref, "ko://"))
}

// replaceOnce returns an edit that replaces the first old with new, and
// panics when there is none, so that a manifest that changed cannot turn
// a broken copy into an intact one.
func replaceOnce(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic(fmt.Sprintf("the manifest has no %q to replace", old))
		}
		return strings.Replace(s, old, new, 1)
	}
}

func namespaceYAML(ns string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    bindings.knative.dev/include: \"true\"\n", ns)
}

// secretYAML is the README's `kubectl create secret generic carrot-jwt`.
const secretYAML = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: carrot-jwt\ntype: Opaque\nstringData:\n  secret: 0123456789abcdef0123456789abcdef\n"

func mustDecode(t *testing.T, name, text string) []controlplane.Object {
	objs, err := controlplane.DecodeObjects(strings.NewReader(text), name)
	require.NoError(t, err)
	return objs
}

// mustRead reads a manifest of the repository, edited by edit if not nil.
func mustRead(t *testing.T, path string, edit func(string) string) []controlplane.Object {
	data, err := os.ReadFile(filepath.Join("..", "..", path))
	require.NoError(t, err)
	text := string(data)
	if edit != nil {
		text = edit(text)
	}
	return mustDecode(t, path, text)
}

func mustReadDir(t *testing.T, dir string, edit func(string) string) []controlplane.Object {
	entries, err := os.ReadDir(filepath.Join("..", "..", dir))
	require.NoError(t, err)
	var objs []controlplane.Object
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			objs = append(objs, mustRead(t, filepath.Join(dir, e.Name()), edit)...)
		}
	}
	return objs
}

func mustLoad(t *testing.T, path string) []manifest.Document {
	docs, err := manifest.Load(filepath.Join("..", "..", path))
	require.NoError(t, err)
	return docs
}

func container(pod corev1.PodSpec, name string) *corev1.Container {
	i := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == name })
	if i < 0 {
		return nil
	}
	return &pod.Containers[i]
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func readyTrue(obj *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" && m["status"] == "True" {
			return true
		}
	}
	return false
}

func eventually(timeout time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(250 * time.Millisecond)
	}
	return true
}

// recorder is an assert.TestingT that keeps the failures, for checks
// expected to fail.
type recorder struct{ errors []string }

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
