package serving

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"knative.dev/serving/pkg/apis/autoscaling"
)

// carrotRefs supply what carrot's manifests refer to, as the local runtime
// would from knative/config.yaml and a generated secret.
var carrotRefs = []LoadOption{
	WithConfigMap("carrot-config", map[string]string{"aws-region": "ap-northeast-2", "dynamodb-table-prefix": "carrot-"}),
	WithSecret("carrot-jwt", map[string]string{"secret": "local-secret"}),
}

func TestLoadServicesReadsCarrotsManifests(t *testing.T) {
	t.Parallel()
	specs, err := LoadServices("../../knative/services", carrotRefs...)
	require.NoError(t, err)

	require.Len(t, specs, 12, "eleven functions and the gateway")
	byName := map[string]Spec{}
	for _, s := range specs {
		byName[s.Name] = s
		assert.Equal(t, "github.com/carrot-market/carrot/functions/"+s.Name, s.ImportPath)
	}
	chat, ok := byName["request-chat"]
	require.True(t, ok)
	assert.Equal(t, 10, chat.ContainerConcurrency)
	assert.InDelta(t, 7*0.7, chat.Target, 1e-9, "Knative aims at 70% of the target annotation")
	assert.Equal(t, 0, chat.MinScale)
	assert.Equal(t, 5, chat.MaxScale)
	assert.Equal(t, 60*time.Second, chat.IdleGrace)
	assert.Equal(t, 30*time.Second, chat.Timeout)
	assert.Equal(t, map[string]string{
		"AWS_REGION":            "ap-northeast-2",
		"DYNAMODB_TABLE_PREFIX": "carrot-",
		"CARROT_JWT_SECRET":     "local-secret",
		"CARROT_METRICS_PORT":   "9464", // each instance gets its own instead (supervisor.environ)
	}, chat.Env, "the optional DYNAMODB_ENDPOINT is left out")
	assert.Equal(t, Probe{Path: "/health/readiness", Period: 2 * time.Second, Timeout: time.Second, FailureThreshold: 3}, chat.Readiness)
	require.NotNil(t, chat.Liveness)
	assert.Equal(t, Probe{Path: "/health/liveness", Period: 5 * time.Second, FailureThreshold: 3}, *chat.Liveness)
}

// serviceParts are what a test sets in a Service manifest, each a YAML
// fragment written without indentation.
type serviceParts struct {
	annotations string // of the revision template
	revision    string // fields of the revision template's spec
	container   string // fields of its one container
	image       string // ko://example.com/fn/<name> when empty
}

// service is a Service manifest called name around parts.
func service(name string, parts serviceParts) string {
	if parts.image == "" {
		parts.image = "ko://example.com/fn/" + name
	}
	return fmt.Sprintf(`apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: %s
spec:
  template:
    metadata:
      annotations:
        example.com/unused: "x"
%s
    spec:
%s
      containers:
        - image: %s
%s
`, name, indent(parts.annotations, 8), indent(parts.revision, 6), parts.image, indent(parts.container, 10))
}

// indent puts n spaces before every line of fragment.
func indent(fragment string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(fragment, "\n", "\n"+pad)
}

// writeManifests returns a new folder holding docs as one services.yaml,
// beside a file LoadServices must skip.
func writeManifests(t *testing.T, docs ...string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, fstest.MapFS{
		"services.yaml": {Data: []byte(strings.Join(docs, "\n---\n"))},
		"README.md":     {Data: []byte("not a manifest")},
	}))
	return dir
}

func TestLoadServicesAppliesKnativeDefaults(t *testing.T) {
	t.Parallel()
	configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ignored\ndata:\n  a: b\n"
	dir := writeManifests(t,
		configMap,
		service("unlimited", serviceParts{revision: "containerConcurrency: 0", container: "env: [{name: PLAIN, value: v}]"}),
		service("limited", serviceParts{
			annotations: fmt.Sprintf("%s: \"2\"\n%s: \"4\"\n%s: \"10s\"",
				autoscaling.MinScaleAnnotationKey, autoscaling.MaxScaleAnnotationKey, autoscaling.WindowAnnotationKey),
			revision: "containerConcurrency: 10",
		}),
		service("capped", serviceParts{
			annotations: fmt.Sprintf("%s: \"50\"", autoscaling.TargetAnnotationKey),
			revision:    "containerConcurrency: 10",
		}),
	)

	specs, err := LoadServices(dir)
	require.NoError(t, err)

	require.Len(t, specs, 3, "the ConfigMap is skipped")
	capped, limited, unlimited := specs[0], specs[1], specs[2]
	assert.InDelta(t, 70, unlimited.Target, 1e-9, "70% of the default 100 when containerConcurrency is 0")
	assert.Equal(t, 0, unlimited.MaxScale, "unlimited")
	assert.Equal(t, DefaultTimeout, unlimited.Timeout)
	assert.Equal(t, DefaultIdleGrace, unlimited.IdleGrace)
	assert.Equal(t, Probe{}, unlimited.Readiness, "Knative's default readiness is a TCP probe")
	assert.Nil(t, unlimited.Liveness)
	assert.Equal(t, map[string]string{"PLAIN": "v"}, unlimited.Env)
	assert.InDelta(t, 7, limited.Target, 1e-9, "70% of containerConcurrency")
	assert.Equal(t, 2, limited.MinScale)
	assert.Equal(t, 4, limited.MaxScale)
	assert.Equal(t, 10*time.Second, limited.IdleGrace)
	assert.InDelta(t, 7, capped.Target, 1e-9, "a target above containerConcurrency is capped")
}

func TestLoadServicesFailsFast(t *testing.T) {
	t.Parallel()
	minAboveMax := fmt.Sprintf("%s: \"3\"\n%s: \"2\"", autoscaling.MinScaleAnnotationKey, autoscaling.MaxScaleAnnotationKey)
	tests := map[string]struct {
		parts serviceParts
		want  string
	}{
		"missing required key": {serviceParts{container: "env: [{name: A, valueFrom: {configMapKeyRef: {name: carrot-config, key: nope}}}]"}, "has no key nope"},
		"missing secret":       {serviceParts{container: "env: [{name: A, valueFrom: {secretKeyRef: {name: other, key: secret}}}]"}, "Secret other has no key secret"},
		"bad annotation":       {serviceParts{annotations: minAboveMax}, "min-scale"},
		"negative concurrency": {serviceParts{revision: "containerConcurrency: -1"}, "containerConcurrency"},
		"unknown field":        {serviceParts{revision: "containerConcurency: 1"}, "unknown field"},
		"exec probe":           {serviceParts{container: `livenessProbe: {exec: {command: ["true"]}}`}, "livenessProbe"},
		"not ko":               {serviceParts{image: "example.com/fn/fn"}, "not a ko:// import path"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadServices(writeManifests(t, service("fn", tc.parts)), carrotRefs...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLoadServicesLeavesOutOptionalReferences(t *testing.T) {
	t.Parallel()
	dir := writeManifests(t, service("fn", serviceParts{
		container: "env: [{name: A, valueFrom: {configMapKeyRef: {name: absent, key: a, optional: true}}}, {name: B, valueFrom: {secretKeyRef: {name: carrot-jwt, key: secret}}}]",
	}))

	specs, err := LoadServices(dir, carrotRefs...)

	require.NoError(t, err)
	require.Len(t, specs, 1)
	assert.Equal(t, map[string]string{"B": "local-secret"}, specs[0].Env)
}
