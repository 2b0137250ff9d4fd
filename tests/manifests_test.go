package tests

// The manifests of knative/ are what a cluster applies, and no cluster runs
// here, so these tests prove them with Knative's and Kubernetes' own API
// types: every document is decoded strictly (an unknown field fails), the
// Knative objects are defaulted and validated as Knative's admission
// webhooks would on create, with the configuration a fresh Knative 1.23
// install has, and any error or warning fails. Then the objects are
// checked against each other and against the code: every function has its
// Service and ServiceAccount, every emitted event has a consumer or is
// known to be terminal, no trigger hands a subscriber back what it emits,
// the SinkBinding reaches every emitter, and each function's IAM policy
// allows exactly what the function does when it runs.
//
// What cannot be checked here: the KafkaSink's Go type lives in
// knative.dev/eventing-kafka-broker, which the module proxy does not
// serve, so KafkaSinks are decoded strictly into a copy of their spec's
// shape and checked structurally; Kubernetes' own objects (Deployment,
// Job...) get apimachinery's metadata validation and the checks below,
// not the API server's full validation, which lives in k8s.io/kubernetes.
// tests/controlplane applies the same manifests to a real API server with
// Knative's webhooks and controllers, which checks all of that.

import (
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	eventingcfg "knative.dev/eventing/pkg/apis/config"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/apis/feature"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/pkg/apis"
	knativeruntime "knative.dev/pkg/observability/runtime"
	servingcfg "knative.dev/serving/pkg/apis/config"
	servingapi "knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	asconfig "knative.dev/serving/pkg/autoscaler/config"
	servingnet "knative.dev/serving/pkg/networking"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot"
	"github.com/carrot-market/carrot/infra/broker"
	"github.com/carrot-market/carrot/infra/deploy"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
	"github.com/carrot-market/carrot/infra/gateway"
	"github.com/carrot-market/carrot/infra/local"
	"github.com/carrot-market/carrot/infra/manifest"
	"github.com/carrot-market/carrot/infra/outbox"
	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/infra/telemetry"
	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/tests/system"
)

// mfTerminal are the event types no trigger consumes, each with the reason
// that is fine. A type listed here that a trigger does consume fails the
// test, so the list cannot go stale.
var mfTerminal = map[events.Type]string{
	events.ChatMessagePosted: "messages are read back from their table; no view or policy needs them yet",
}

// mfExternalSecrets are the Secrets the manifests use but do not define:
// they hold credentials, so the README creates them with kubectl.
var mfExternalSecrets = map[string]string{
	"carrot-jwt": "CARROT_JWT_SECRET (optional beside an identity provider), created by `kubectl create secret generic carrot-jwt` (README)",
}

// mfTightConcurrency are the functions whose containerConcurrency must stay
// low so that reservation overload answers 503 quickly (SPEC section 6).
var mfTightConcurrency = map[string]int64{"request-chat": 10, "confirm-reservation": 10}

const (
	// mfNamespace is where the README deploys; the manifests name none.
	mfNamespace = "carrot"
	// mfIRSAAnnotation binds a ServiceAccount to an IAM role on EKS.
	mfIRSAAnnotation = "eks.amazonaws.com/role-arn"
	// mfKafkaSinkAPIVersion is the KafkaSink's group and version.
	mfKafkaSinkAPIVersion = "eventing.knative.dev/v1alpha1"
	// mfComponentLabel set to mfKafkaPart marks the broker's objects kn
	// cannot make, which the README applies with kubectl -l.
	mfComponentLabel = "app.kubernetes.io/component"
	mfKafkaPart      = "kafka"
)

// TestManifestsValidateWithKnative decodes every manifest of knative/
// strictly into its API type, defaults and validates the Knative objects
// as Knative's webhooks do on create, and fails on any error or warning.
func TestManifestsValidateWithKnative(t *testing.T) {
	t.Parallel()
	set := mfLoad(t)
	ctx := mfKnativeContext(t)

	for _, o := range set.knative {
		name := o.kind + " " + o.obj.GetName()
		assert.Empty(t, o.obj.GetNamespace(), "%s (%s) names a namespace; kubectl -n decides it", name, o.path)
		o.obj.SetNamespace(mfNamespace)
		for _, problem := range mfKnativeProblems(ctx, o.obj) {
			assert.Fail(t, "Knative refuses or warns about "+name, "%s: %s", o.path, problem)
		}
	}
	for _, o := range set.core {
		assert.Empty(t, o.meta.Namespace, "%s %s (%s) names a namespace; kubectl -n decides it", o.kind, o.meta.Name, o.path)
		meta := o.meta.DeepCopy()
		meta.Namespace = mfNamespace
		for _, err := range apivalidation.ValidateObjectMeta(meta, true, o.nameRule, field.NewPath("metadata")) {
			assert.Fail(t, "Kubernetes refuses "+o.kind+" "+o.meta.Name, "%s: %v", o.path, err)
		}
	}
	require.NotEmpty(t, set.services)
	require.Len(t, set.brokers, 1, "one Broker")

	// The check above fails on a warning, not only on an error: a Service
	// without a seccomp profile is accepted by Knative with a warning.
	t.Run("a warning fails", func(t *testing.T) {
		svc := set.services[slices.Sorted(maps.Keys(set.services))[0]].DeepCopy()
		svc.Spec.Template.Spec.Containers[0].SecurityContext.SeccompProfile = nil
		problems := mfKnativeProblems(ctx, svc)
		require.Len(t, problems, 1)
		assert.Contains(t, problems[0], "warning: ")
		assert.Contains(t, problems[0], "seccompProfile")
	})
}

// TestManifestsMatchTheFunctions checks the Services, ServiceAccounts,
// ConfigMaps and DynamoDB Local objects against each other and against
// the code: one Service per function folder and back, the settings SPEC
// section 6 relies on, and the runtime of `make run` still reading them.
func TestManifestsMatchTheFunctions(t *testing.T) {
	t.Parallel()
	set := mfLoad(t)

	mains := mfMainPackages(t, filepath.Join(repoRoot, "functions"))
	assert.ElementsMatch(t, mains, slices.Sorted(maps.Keys(set.services)), "one Service per folder of functions/ with a package main, and back")
	var declared []string
	for _, f := range registry.All {
		declared = append(declared, f.Name)
	}
	assert.ElementsMatch(t, mains, declared, "functions/registry declares every function")

	config := set.configMaps["carrot-config"]
	require.NotNil(t, config, "knative/config.yaml defines carrot-config")
	for name, svc := range set.services {
		fn, ok := registry.Named(name)
		if !assert.True(t, ok, "Service %s is no function of functions/registry", name) {
			continue
		}
		tmpl := svc.Spec.Template
		require.Len(t, tmpl.Spec.Containers, 1, name)
		c := tmpl.Spec.Containers[0]
		assert.Equal(t, "ko://"+module+"/functions/"+name, c.Image, "%s is built by ko from its folder", name)

		a := tmpl.Annotations
		assert.Equal(t, "0", a["autoscaling.knative.dev/min-scale"], "%s scales to zero", name)
		maxScale, err := strconv.Atoi(a["autoscaling.knative.dev/max-scale"])
		assert.True(t, err == nil && maxScale > 0, "%s has a max-scale: %q", name, a["autoscaling.knative.dev/max-scale"])
		cc := tmpl.Spec.GetContainerConcurrency()
		assert.Positive(t, cc, "%s limits its containerConcurrency", name)
		if limit, tight := mfTightConcurrency[name]; tight {
			assert.LessOrEqual(t, cc, limit, "%s keeps a tight containerConcurrency (SPEC 6)", name)
		}
		if assert.NotNil(t, c.ReadinessProbe, "%s readiness", name) && assert.NotNil(t, c.ReadinessProbe.HTTPGet, name) {
			assert.Equal(t, "/health/readiness", c.ReadinessProbe.HTTPGet.Path, name)
		}
		if assert.NotNil(t, c.LivenessProbe, "%s liveness", name) && assert.NotNil(t, c.LivenessProbe.HTTPGet, name) {
			assert.Equal(t, "/health/liveness", c.LivenessProbe.HTTPGet.Path, name)
		}
		for _, problem := range mfPodProblems(set, tmpl.Spec.PodSpec) {
			assert.Fail(t, "Service "+name, problem)
		}
		authEnv := map[string]bool{} // name → optional
		for _, env := range c.Env {
			if ref := env.ValueFrom; ref != nil && ref.ConfigMapKeyRef != nil && (ref.ConfigMapKeyRef.Optional == nil || !*ref.ConfigMapKeyRef.Optional) {
				assert.Contains(t, set.configMaps[ref.ConfigMapKeyRef.Name].Data, ref.ConfigMapKeyRef.Key, "%s needs %s of ConfigMap %s", name, ref.ConfigMapKeyRef.Key, ref.ConfigMapKeyRef.Name)
			}
			if slices.Contains([]string{web.SecretEnv, web.IssuerEnv, web.AudienceEnv}, env.Name) {
				authEnv[env.Name] = mfOptional(env)
			}
		}
		// A cluster names an identity provider, a shared secret or both
		// (web.NewAuthOf), so each setting is optional; a function that
		// checks no token gets none of them.
		if fn.Authenticates() {
			assert.Equal(t, map[string]bool{web.SecretEnv: true, web.IssuerEnv: true, web.AudienceEnv: true}, authEnv,
				"%s checks tokens: it reads the JWT secret and the OIDC issuer and audience, each optional", name)
		} else {
			assert.Empty(t, authEnv, "%s checks no token and reads no auth setting", name)
		}

		// Its ServiceAccount carries the IRSA role whose policy is
		// generated; a function that calls no AWS API has neither.
		assert.Equal(t, fn.RoleName(), tmpl.Spec.ServiceAccountName, "%s runs as its own ServiceAccount", name)
		policy := filepath.Join(repoRoot, "knative", "aws", deploy.IAMDir, fn.RoleName()+".json")
		sa := set.serviceAccounts[fn.RoleName()]
		if !assert.NotNil(t, sa, "ServiceAccount %s", fn.RoleName()) {
			continue
		}
		if fn.CallsAWS() {
			assert.Equal(t, "arn:aws:iam::ACCOUNT_ID:role/"+fn.RoleName(), sa.Annotations[mfIRSAAnnotation], "ServiceAccount %s", fn.RoleName())
			assert.FileExists(t, policy)
		} else {
			assert.NotContains(t, sa.Annotations, mfIRSAAnnotation, "ServiceAccount %s of %s, which calls no AWS API, has no role", fn.RoleName(), name)
			assert.NoFileExists(t, policy)
		}
	}

	// DynamoDB Local and its bootstrap Job.
	for _, d := range set.deployments {
		selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		require.NoError(t, err, "Deployment %s", d.Name)
		assert.True(t, !selector.Empty() && selector.Matches(labels.Set(d.Spec.Template.Labels)), "Deployment %s selects its own pods", d.Name)
		for _, problem := range mfPodProblems(set, d.Spec.Template.Spec) {
			assert.Fail(t, "Deployment "+d.Name, problem)
		}
	}
	for _, job := range set.jobs {
		assert.Contains(t, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}, job.Spec.Template.Spec.RestartPolicy, "Job %s", job.Name)
		for _, problem := range mfPodProblems(set, job.Spec.Template.Spec) {
			assert.Fail(t, "Job "+job.Name, problem)
		}
	}
	for _, svc := range set.coreServices {
		var backends []*appsv1.Deployment
		for _, d := range set.deployments {
			if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				backends = append(backends, d)
			}
		}
		if !assert.Len(t, backends, 1, "Service %s selects the pods of one Deployment", svc.Name) {
			continue
		}
		for _, port := range svc.Spec.Ports {
			if port.TargetPort.StrVal != "" {
				assert.True(t, slices.ContainsFunc(backends[0].Spec.Template.Spec.Containers, func(c corev1.Container) bool {
					return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == port.TargetPort.StrVal })
				}), "Service %s: target port %s is a port of Deployment %s", svc.Name, port.TargetPort.StrVal, backends[0].Name)
			}
		}
	}
	for _, pvc := range set.pvcs {
		assert.NotEmpty(t, pvc.Spec.AccessModes, "PersistentVolumeClaim %s", pvc.Name)
		assert.False(t, pvc.Spec.Resources.Requests.Storage().IsZero(), "PersistentVolumeClaim %s requests storage", pvc.Name)
	}

	// The local runtime reads the same files and still finds every Service.
	specs, err := serving.LoadServices(filepath.Join(repoRoot, "knative", "services"),
		serving.WithConfigMap("carrot-config", config.Data), serving.WithSecret("carrot-jwt", map[string]string{"secret": "x"}))
	require.NoError(t, err)
	assert.Len(t, specs, len(mains), "LoadServices finds one Service per function")
	_, err = broker.LoadConfig(filepath.Join(repoRoot, "knative", "eventing"))
	assert.NoError(t, err)
	for _, ping := range []string{"outbox-relay.yaml", "reconciler.yaml"} {
		_, err = local.LoadPing(filepath.Join(repoRoot, "knative", "eventing", ping))
		assert.NoError(t, err)
	}
	for _, spec := range specs {
		assert.NotContains(t, spec.Env, web.DevEndpointsEnv, "Service %s: the dev-only endpoints are for the local runtime only", spec.Name)
	}
	// Nor anywhere else a cluster applies (a ConfigMap, a patch...).
	require.NoError(t, filepath.WalkDir(filepath.Join(repoRoot, "knative"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		assert.NotContains(t, string(b), web.DevEndpointsEnv, "%s names the dev-only endpoints' switch", path)
		return err
	}))
}

// TestManifestsKeepAllButTheGatewayPrivate checks SPEC section 6's edge:
// the gateway is the one Service the external ingress serves, every other
// Service carries Knative's cluster-local visibility, so no trigger's or
// PingSource's endpoint is reachable from outside, and the gateway finds
// the functions at their cluster-local URLs in the namespace the README
// deploys to, waiting longer for them than they may take.
func TestManifestsKeepAllButTheGatewayPrivate(t *testing.T) {
	t.Parallel()
	set := mfLoad(t)

	var public []string
	for name, svc := range set.services {
		fn, ok := registry.Named(name)
		require.True(t, ok, "Service %s is a function of functions/registry", name)
		visibility, private := svc.Labels[networking.VisibilityLabelKey]
		if !private {
			public = append(public, name)
		}
		if fn.Proxy {
			assert.False(t, private, "the gateway %s is public", name)
			continue
		}
		assert.Equal(t, servingapi.VisibilityClusterLocal, visibility, "Service %s is reachable from outside the cluster; label it %s: %s",
			name, networking.VisibilityLabelKey, servingapi.VisibilityClusterLocal)
	}
	assert.Equal(t, []string{registry.Gateway.Name}, public, "the gateway and nothing else is public")

	for _, tr := range set.triggers {
		if ref := tr.Spec.Subscriber.Ref; ref != nil {
			assert.NotContains(t, public, ref.Name, "Trigger %s delivers to a public Service", tr.Name)
		}
	}
	for _, ping := range set.pings {
		if ref := ping.Spec.Sink.Ref; ref != nil {
			assert.NotContains(t, public, ref.Name, "PingSource %s wakes a public Service", ping.Name)
		}
	}

	// The gateway's settings.
	svc := set.services[registry.Gateway.Name]
	require.NotNil(t, svc, "knative/services/gateway.yaml")
	c := svc.Spec.Template.Spec.Containers[0]
	i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == gateway.FunctionURLEnv })
	require.GreaterOrEqual(t, i, 0, "the gateway reads $%s", gateway.FunctionURLEnv)
	ref := c.Env[i].ValueFrom.ConfigMapKeyRef
	require.NotNil(t, ref, "$%s comes from a ConfigMap", gateway.FunctionURLEnv)
	config := set.configMaps[ref.Name]
	require.NotNil(t, config, "ConfigMap %s", ref.Name)
	url := config.Data[ref.Key]
	require.NotEmpty(t, url, "ConfigMap %s has %s, which the gateway cannot start without", ref.Name, ref.Key)
	assert.NoError(t, gateway.Config{FunctionURL: url}.Validate())
	assert.Equal(t, "http://"+gateway.NamePlaceholder+"."+mfNamespace+".svc.cluster.local", url,
		"the gateway reaches each function at its cluster-local URL in namespace %s", mfNamespace)

	gwTimeout := svc.Spec.Template.Spec.TimeoutSeconds
	require.NotNil(t, gwTimeout, "the gateway sets its timeoutSeconds")
	for _, f := range registry.Routes() {
		if behind := set.services[f.Name].Spec.Template.Spec.TimeoutSeconds; assert.NotNil(t, behind, f.Name) {
			assert.Greater(t, *gwTimeout, *behind, "the gateway waits longer than %s may take", f.Name)
		}
	}
}

// TestManifestsWireTheEvents checks the eventing objects against each
// other and against what the functions emit (the emits table of
// replyloop_test.go) and handle (boottest.Functions): the Kafka broker and
// its dead letters, what each trigger takes, every emitted type consumed
// or terminal, no trigger handing its subscriber back what it emits, the
// PingSource and the SinkBinding. Which types a trigger takes is decided
// with Knative's own filters (passes, in replyloop_test.go).
func TestManifestsWireTheEvents(t *testing.T) {
	t.Parallel()
	set := mfLoad(t)
	require.Len(t, set.brokers, 1)
	brk := set.brokers[0]

	// The broker: class Kafka, its ConfigMap, its dead-letter KafkaSink.
	assert.Equal(t, "Kafka", brk.Annotations[eventingv1.BrokerClassAnnotationKey], "Broker %s is a Kafka broker", brk.Name)
	require.NotNil(t, brk.Spec.Config, "Broker %s names its Kafka ConfigMap", brk.Name)
	assert.Equal(t, "ConfigMap", brk.Spec.Config.Kind)
	kafkaConfig := set.configMaps[brk.Spec.Config.Name]
	require.NotNil(t, kafkaConfig, "ConfigMap %s of the Broker", brk.Spec.Config.Name)
	assert.NotEmpty(t, kafkaConfig.Data["bootstrap.servers"])
	for _, key := range []string{"default.topic.partitions", "default.topic.replication.factor"} {
		n, err := strconv.Atoi(kafkaConfig.Data[key])
		assert.True(t, err == nil && n > 0, "ConfigMap %s: %s is a positive count, not %q", kafkaConfig.Name, key, kafkaConfig.Data[key])
	}
	require.NotEmpty(t, set.kafkaSinks, "a KafkaSink for dead letters")
	for name, sink := range set.kafkaSinks {
		assert.Equal(t, mfKafkaSinkAPIVersion, sink.APIVersion)
		assert.NotEmpty(t, sink.Spec.Topic, "KafkaSink %s has a topic", name)
		assert.Equal(t, strings.Split(kafkaConfig.Data["bootstrap.servers"], ","), sink.Spec.BootstrapServers, "KafkaSink %s writes to the broker's Kafka", name)
		if sink.Spec.ContentMode != nil {
			assert.Contains(t, []string{"binary", "structured"}, *sink.Spec.ContentMode, "KafkaSink %s", name)
		}
	}
	deadLetters := func(what string, d *mfDelivery) {
		if assert.NotNil(t, d, "%s has a delivery policy", what) && assert.NotNil(t, d.DeadLetterSink, "%s has a dead-letter sink", what) && assert.NotNil(t, d.DeadLetterSink.Ref, what) {
			ref := d.DeadLetterSink.Ref
			assert.Equal(t, mfKafkaSinkAPIVersion+" KafkaSink", ref.APIVersion+" "+ref.Kind, what)
			assert.Contains(t, set.kafkaSinks, ref.Name, "%s dead-letters to a KafkaSink of the manifests", what)
		}
	}
	deadLetters("Broker "+brk.Name, brk.Spec.Delivery)

	// The README's kn steps apply the objects kn cannot make by this
	// label, then make the Broker with kn: only the Broker lacks it.
	assert.NotEqual(t, mfKafkaPart, brk.Labels[mfComponentLabel], "Broker %s: kn makes it", brk.Name)
	assert.Equal(t, mfKafkaPart, kafkaConfig.Labels[mfComponentLabel], "ConfigMap %s: kn cannot make it", kafkaConfig.Name)
	for name, sink := range set.kafkaSinks {
		assert.Equal(t, mfKafkaPart, sink.Labels[mfComponentLabel], "KafkaSink %s: kn cannot make it", name)
	}

	handlers := map[string][]events.Type{} // what each function's POST / handles
	relays, reconciles := map[string]bool{}, map[string]bool{}
	for _, f := range registry.All {
		if f.Consumes != nil {
			handlers[f.Name] = f.Consumes.Types()
		}
		relays[f.Name] = f.Relay
		reconciles[f.Name] = f.Reconcile
	}

	// Each trigger: of the broker, ordered, retried with linear backoff
	// into the dead letters, delivering exactly what its
	// subscriber handles.
	consumers := map[events.Type][]string{}
	for _, tr := range set.triggers {
		what := "Trigger " + tr.Name
		assert.Equal(t, brk.Name, tr.Spec.Broker, what)
		assert.Equal(t, broker.OrderOrdered, tr.Annotations[broker.OrderAnnotation], "%s delivers one item's events in order", what)
		deadLetters(what, tr.Spec.Delivery)
		if d := tr.Spec.Delivery; d != nil {
			assert.True(t, d.Retry != nil && *d.Retry > 0, "%s retries", what)
			// Linear: exponential has no cap in Knative, and its gaps would
			// outgrow the outage they wait out (triggers.yaml says why).
			assert.True(t, d.BackoffPolicy != nil && *d.BackoffPolicy == eventingduckv1.BackoffPolicyLinear, "%s backs off linearly", what)
			assert.NotNil(t, d.Timeout, "%s bounds each try", what)
		}
		ref := tr.Spec.Subscriber.Ref
		if !assert.NotNil(t, ref, "%s delivers to a Service", what) {
			continue
		}
		assert.Equal(t, "serving.knative.dev/v1 Service", ref.APIVersion+" "+ref.Kind, what)
		assert.Contains(t, set.services, ref.Name, "%s delivers to a Service of the manifests", what)

		var takes []events.Type
		for _, typ := range events.Types() {
			if passes(t, mfTriggerConfig(tr), eventOf(typ, "probe")) {
				takes = append(takes, typ)
				consumers[typ] = append(consumers[typ], ref.Name)
			}
		}
		assert.Equal(t, handlers[ref.Name], takes, "%s delivers exactly the types %s handles", what, ref.Name)
		assert.False(t, passes(t, mfTriggerConfig(tr), eventOf(local.PingSourceType, "probe")), "%s filters on type", what)

		// No reply loop: the subscriber never receives what it emits.
		for _, typ := range emits[ref.Name] {
			assert.False(t, passes(t, mfTriggerConfig(tr), eventOf(typ, ref.Name)), "%s hands %s back to %s, which emits it", what, typ, ref.Name)
		}
	}

	// Every emitted type reaches a consumer, or is terminal for a reason.
	for fn, types := range emits {
		for _, typ := range types {
			_, terminal := mfTerminal[typ]
			assert.True(t, terminal || len(consumers[typ]) > 0, "%s emits %s, which no trigger takes; add a trigger or list it in mfTerminal", fn, typ)
		}
	}
	for typ, reason := range mfTerminal {
		assert.Empty(t, consumers[typ], "%s is listed terminal (%s) but triggers take it", typ, reason)
	}

	// The PingSources wake the relay and the reconciler.
	require.Len(t, set.pings, 2)
	for _, ping := range set.pings {
		ref := ping.Spec.Sink.Ref
		if assert.NotNil(t, ref, "PingSource %s sinks to a Service", ping.Name) {
			assert.Equal(t, "serving.knative.dev/v1 Service", ref.APIVersion+" "+ref.Kind)
			assert.Contains(t, set.services, ref.Name, "PingSource %s", ping.Name)
			assert.True(t, relays[ref.Name] || reconciles[ref.Name], "PingSource %s wakes %s, which neither relays nor reconciles", ping.Name, ref.Name)
		}
	}

	// The SinkBinding gives K_SINK, the broker, to exactly the emitters.
	require.Len(t, set.bindings, 1)
	binding := set.bindings[0]
	subject := binding.Spec.Subject
	assert.Equal(t, "serving.knative.dev/v1 Service", subject.APIVersion+" "+subject.Kind)
	require.NotNil(t, subject.Selector, "SinkBinding %s selects by label", binding.Name)
	selector, err := metav1.LabelSelectorAsSelector(subject.Selector)
	require.NoError(t, err)
	var selected, emitters []string
	for name, svc := range set.services {
		if selector.Matches(labels.Set(svc.Labels)) {
			selected = append(selected, name)
		}
		if len(emits[name]) > 0 || relays[name] {
			emitters = append(emitters, name)
		}
	}
	assert.ElementsMatch(t, emitters, selected, "SinkBinding %s selects every Service that sends events, and no other", binding.Name)
	if ref := binding.Spec.Sink.Ref; assert.NotNil(t, ref) {
		assert.Equal(t, "eventing.knative.dev/v1 Broker "+brk.Name, ref.APIVersion+" "+ref.Kind+" "+ref.Name, "SinkBinding %s sinks to the broker", binding.Name)
	}
}

// TestManifestsGrantWhatFunctionsUse runs every function as boot wires it
// in production, each on a DynamoDB client of its own that records the IAM
// authorizations of every call, through a whole deal, an outage of the
// broker and a relay. Events travel as the manifests' triggers route them.
// Then each function's generated IAM policy must allow every call it made,
// and each table infra/deploy lists for it must be one it used.
func TestManifestsGrantWhatFunctionsUse(t *testing.T) {
	t.Parallel()
	base := dynamotest.MustClient(t)
	prefix := dynamotest.MustTables(t, base)
	set := mfLoad(t)
	c := newMFCluster(t, set)
	ctx := context.Background()

	sink := httptest.NewServer(c)
	t.Cleanup(sink.Close)
	for _, f := range registry.All {
		client := dynamodb.New(base.Options(), deploy.RecordRequests(func(reqs []deploy.Request, err error) { c.record(f.Name, reqs, err) }))
		// Wiring checks every table, as boot.FromEnv does at start.
		require.NoError(t, dynamo.CheckTables(ctx, client, prefix))
		store := dynamo.New(client, prefix)
		pub, err := outbox.New(store, outbox.Config{Sink: sink.URL, RetryBackoff: time.Millisecond})
		require.NoError(t, err)
		deps := boot.Deps{Store: store, Auth: c.auth, Publisher: pub}
		if f.Reconcile {
			// A minute ahead: what the run below did has settled.
			deps.Now = func() time.Time { return time.Now().Add(time.Minute) }
		}
		srv := httptest.NewServer(boot.Handler(f, deps))
		t.Cleanup(srv.Close)
		c.url[f.Name] = srv.URL
	}

	// A whole deal: sold, cancelled, sold again and reviewed.
	item := c.post("register-item", seller, "/items", `{"name":"tv","category":"electronics","price":30000}`)["itemId"].(string)
	c.want(http.StatusOK, "register-item", "", "GET", "/items", "")
	c.want(http.StatusOK, "register-item", "", "GET", "/items?sellerId="+seller, "")
	c.want(http.StatusOK, "register-item", seller, "PATCH", "/items/"+item, `{"description":"works"}`)
	gone := c.post("register-item", seller, "/items", `{"name":"radio","category":"electronics","price":5000}`)["itemId"].(string)
	c.want(http.StatusNoContent, "register-item", seller, "DELETE", "/items/"+gone, "")
	rsv := c.post("request-chat", buyer, "/reservations", `{"itemId":"`+item+`"}`)["rsvId"].(string)
	c.post("request-chat", buyer, "/reservations/"+rsv+"/messages", `{"text":"still there?"}`)
	c.want(http.StatusOK, "request-chat", buyer, "GET", "/reservations/"+rsv+"/messages", "")
	c.want(http.StatusOK, "request-chat", buyer, "GET", "/reservations/"+rsv, "")
	meeting := `{"rsvStatus":"CONFIRMED","rsvDate":"` + system.Day(30) + `","rsvTime":"18:30","rsvPlace":"Hapjeong"}`
	c.want(http.StatusOK, "confirm-reservation", seller, "PATCH", "/reservations/"+rsv, meeting)
	pay := c.post("pay", buyer, "/payments", `{"rsvId":"`+rsv+`"}`)["payId"].(string)
	c.want(http.StatusOK, "pay", buyer, "GET", "/payments/"+pay, "")
	c.want(http.StatusOK, "cancel-payment", buyer, "PATCH", "/payments/"+pay, `{"status":"DELETED"}`)
	c.post("pay", buyer, "/payments", `{"rsvId":"`+rsv+`"}`)
	c.post("write-review", buyer, "/reviews", `{"rsvId":"`+rsv+`","score":5}`)
	c.want(http.StatusOK, "write-review", "", "GET", "/items/"+item+"/reviews", "")
	c.want(http.StatusOK, "write-review", "", "GET", "/users/"+seller+"/reviews", "")
	c.want(http.StatusOK, "write-review", "", "GET", "/users/"+seller, "")

	// A deal called off: the confirmed reservation is deleted.
	desk := c.post("register-item", seller, "/items", `{"name":"desk","category":"furniture","price":0}`)["itemId"].(string)
	rsv2 := c.post("request-chat", buyer, "/reservations", `{"itemId":"`+desk+`"}`)["rsvId"].(string)
	c.want(http.StatusOK, "confirm-reservation", seller, "PATCH", "/reservations/"+rsv2, meeting)
	c.want(http.StatusNoContent, "confirm-reservation", buyer, "DELETE", "/reservations/"+rsv2, "")

	// Lost facts: while the broker is down a deal is paid and another
	// reviewed; the reconciler repairs both before the relay sends a thing.
	sofa := c.post("register-item", seller, "/items", `{"name":"sofa","category":"furniture","price":3000}`)["itemId"].(string)
	sofaRsv := c.post("request-chat", buyer, "/reservations", `{"itemId":"`+sofa+`"}`)["rsvId"].(string)
	c.want(http.StatusOK, "confirm-reservation", seller, "PATCH", "/reservations/"+sofaRsv, meeting)
	bed := c.post("register-item", seller, "/items", `{"name":"bed","category":"furniture","price":4000}`)["itemId"].(string)
	bedRsv := c.post("request-chat", buyer, "/reservations", `{"itemId":"`+bed+`"}`)["rsvId"].(string)
	c.want(http.StatusOK, "confirm-reservation", seller, "PATCH", "/reservations/"+bedRsv, meeting)
	c.post("pay", buyer, "/payments", `{"rsvId":"`+bedRsv+`"}`)
	c.down.Store(true)
	c.post("pay", buyer, "/payments", `{"rsvId":"`+sofaRsv+`"}`)
	c.post("write-review", buyer, "/reviews", `{"rsvId":"`+bedRsv+`","score":3}`)
	c.ping("reconciler")
	assert.Equal(t, "SOLDOUT", c.json(c.want(http.StatusOK, "register-item", "", "GET", "/items/"+sofa, ""))["status"], "the reconciler sold the sofa")
	assert.EqualValues(t, 1, c.json(c.want(http.StatusOK, "register-item", "", "GET", "/items/"+bed, ""))["reviewCount"], "and counted the review")
	c.down.Store(false)

	c.want(http.StatusOK, "mypage", seller, "GET", "/myPages", "")
	c.want(http.StatusOK, "mypage", seller, "GET", "/myPages?userId="+seller, "")
	c.want(http.StatusOK, "mypage", seller, "GET", "/myPages/"+item, "")

	// The broker is down: the command succeeds, its event waits in the
	// outbox; the relay sends it once the broker is back, and so does the
	// publisher that fell behind on its next command.
	c.down.Store(true)
	lamp := c.post("register-item", seller, "/items", `{"name":"lamp","category":"furniture","price":1000}`)["itemId"].(string)
	c.down.Store(false)
	c.ping("outbox-relay")
	time.Sleep(5 * time.Millisecond) // the publisher's retry backoff
	c.post("register-item", seller, "/items", `{"name":"chair","category":"furniture","price":2000}`)

	// The choreography of SPEC section 5 went through the triggers.
	got := c.json(c.want(http.StatusOK, "register-item", "", "GET", "/items/"+item, ""))
	assert.Equal(t, "SOLDOUT", got["status"], "payment approved → reservation completed → item sold out")
	assert.EqualValues(t, 5, got["score"], "review written → item scored")
	assert.Equal(t, "CREATED", c.json(c.want(http.StatusOK, "register-item", "", "GET", "/items/"+desk, ""))["status"], "reservation deleted → item released")
	c.want(http.StatusOK, "mypage", seller, "GET", "/myPages/"+lamp, "")

	c.mu.Lock()
	defer c.mu.Unlock()
	require.Empty(t, c.failures, "the broker stand-in failed to deliver")
	for _, err := range c.unknown {
		assert.Fail(t, "a DynamoDB call the IAM check does not know", err)
	}
	for _, e := range c.received {
		from, _ := strings.CutPrefix(e.Source(), "/carrot/")
		assert.Contains(t, emits[from], events.Type(e.Type()), "%s emitted %s, which the emits table does not list", from, e.Type())
	}

	for _, f := range registry.All {
		policy := deploy.PolicyFor(f, prefix)
		used := map[registry.Table]registry.Access{}
		for _, req := range c.requests[f.Name] {
			assert.True(t, policy.Allows(req.Action, req.Resource), "the IAM policy of %s does not allow %s", f.Name, req)
			table, _ := strings.CutPrefix(req.TableOf(), prefix)
			used[registry.Table(table)] |= mfAccessOf(req.Action)
		}
		for table, access := range f.Tables {
			want := access &^ mfRarelyUsed[table].access
			assert.Equal(t, want, used[table]&want, "%s is granted %v on %s but did not use it all: used %v; drop the grant or exercise it here", f.Name, access, table, used[table])
		}
		for table := range used {
			if table != "" && used[table] != 0 {
				assert.Contains(t, f.Tables, table, "%s uses %s, which functions/registry does not list", f.Name, table)
			}
		}
	}
}

// mfRarelyUsed are grants a run like the one above need not exercise,
// because the code needs them only on a rare path.
var mfRarelyUsed = map[registry.Table]struct {
	access registry.Access
	why    string
}{
	registry.TableOutbox:      {registry.Read, "a publisher scans the outbox only after it fell behind (the run does it to register-item and the relay alone)"},
	registry.TableIdempotency: {registry.Read, "a retry reads the stored answer only when DynamoDB does not return it with the failed condition"},
}

// mfAccessOf classifies an IAM action as deploy does; DescribeTable, which
// every function needs on every table, is neither.
func mfAccessOf(action string) registry.Access {
	switch strings.TrimPrefix(action, "dynamodb:") {
	case "GetItem", "Query", "Scan", "ConditionCheckItem":
		return registry.Read
	case "PutItem", "DeleteItem", "BatchWriteItem", "UpdateItem":
		return registry.Write
	}
	return 0
}

// mfSet is every object of knative/, by kind.
type mfSet struct {
	knative []mfKnativeObject
	core    []mfCoreObject

	services        map[string]*servingv1.Service
	brokers         []*eventingv1.Broker
	triggers        []*eventingv1.Trigger
	pings           []*sourcesv1.PingSource
	bindings        []*sourcesv1.SinkBinding
	kafkaSinks      map[string]*mfKafkaSink
	serviceAccounts map[string]*corev1.ServiceAccount
	configMaps      map[string]*corev1.ConfigMap
	deployments     []*appsv1.Deployment
	jobs            []*batchv1.Job
	pvcs            map[string]*corev1.PersistentVolumeClaim
	coreServices    []*corev1.Service
}

// mfKnativeObject is a Knative object, validated by its own methods.
type mfKnativeObject struct {
	path, kind string
	obj        mfValidatable
}

type mfValidatable interface {
	metav1.Object
	apis.Defaultable
	apis.Validatable
}

// mfCoreObject is a Kubernetes object, validated with apimachinery.
type mfCoreObject struct {
	path, kind string
	meta       *metav1.ObjectMeta
	nameRule   apivalidation.ValidateNameFunc
}

// mfDelivery is Knative's delivery spec, as Broker and Trigger carry it.
type mfDelivery = eventingduckv1.DeliverySpec

// mfKafkaSink is the shape of eventing-kafka-broker's KafkaSink
// (eventing.knative.dev/v1alpha1), whose Go type cannot be fetched here:
// decoded strictly, so an unknown or misspelt field still fails.
type mfKafkaSink = manifest.KafkaSink

// mfLoad reads every YAML document under knative/ into its API type. A
// kind the test does not know fails it: add the kind here first. Files
// other than YAML may only be the generated JSON of knative/aws, which is
// not applied with kubectl.
func mfLoad(t *testing.T) *mfSet {
	t.Helper()
	root := filepath.Join(repoRoot, "knative")
	set := &mfSet{
		services: map[string]*servingv1.Service{}, kafkaSinks: map[string]*mfKafkaSink{},
		serviceAccounts: map[string]*corev1.ServiceAccount{}, configMaps: map[string]*corev1.ConfigMap{},
		pvcs: map[string]*corev1.PersistentVolumeClaim{},
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch ext := filepath.Ext(path); {
		case ext == ".yaml" || ext == ".yml":
		case ext == ".json" && strings.HasPrefix(filepath.ToSlash(rel), "aws/"):
			return nil
		default:
			return fmt.Errorf("%s is not a manifest; only knative/aws may hold other files", rel)
		}
		docs, err := manifest.Load(path)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			if err := set.add(fmt.Sprintf("%s#%d", rel, doc.Index), doc); err != nil {
				return fmt.Errorf("%s, document %d: %w", rel, doc.Index, err)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return set
}

// add files one document, which package manifest decoded strictly. Every
// Knative object (a type with Knative's SetDefaults and Validate) is also
// filed for validation, every Kubernetes object for apimachinery's, with
// its kind's name rule.
func (s *mfSet) add(path string, doc manifest.Document) error {
	if o, ok := doc.Object.(mfValidatable); ok {
		s.knative = append(s.knative, mfKnativeObject{path, doc.Kind, o})
	} else if rule, ok := mfNameRules[doc.Kind]; ok {
		meta := doc.Object.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)
		s.core = append(s.core, mfCoreObject{path, doc.Kind, meta, rule})
	}
	switch o := doc.Object.(type) {
	case *servingv1.Service:
		if _, dup := s.services[o.Name]; dup {
			return fmt.Errorf("Service %s is defined twice", o.Name)
		}
		s.services[o.Name] = o
	case *eventingv1.Broker:
		s.brokers = append(s.brokers, o)
	case *eventingv1.Trigger:
		s.triggers = append(s.triggers, o)
	case *sourcesv1.PingSource:
		s.pings = append(s.pings, o)
	case *sourcesv1.SinkBinding:
		s.bindings = append(s.bindings, o)
	case *mfKafkaSink:
		s.kafkaSinks[o.Name] = o
	case *corev1.ServiceAccount:
		s.serviceAccounts[o.Name] = o
	case *corev1.ConfigMap:
		s.configMaps[o.Name] = o
	case *corev1.PersistentVolumeClaim:
		s.pvcs[o.Name] = o
	case *corev1.Service:
		s.coreServices = append(s.coreServices, o)
	case *appsv1.Deployment:
		s.deployments = append(s.deployments, o)
	case *batchv1.Job:
		s.jobs = append(s.jobs, o)
	default:
		return fmt.Errorf("%s %s: a kind this test does not know; teach package manifest to decode it and mfSet.add to check it", doc.APIVersion, doc.Kind)
	}
	return nil
}

// mfNameRules is the name rule the API server holds each Kubernetes kind
// of the manifests to (the KafkaSink's is its controller's).
var mfNameRules = map[string]apivalidation.ValidateNameFunc{
	"KafkaSink":             apivalidation.NameIsDNSLabel,
	"ServiceAccount":        apivalidation.NameIsDNSSubdomain,
	"ConfigMap":             apivalidation.NameIsDNSSubdomain,
	"PersistentVolumeClaim": apivalidation.NameIsDNSSubdomain,
	"Service":               apivalidation.NameIsDNS1035Label,
	"Deployment":            apivalidation.NameIsDNSSubdomain,
	"Job":                   apivalidation.NameIsDNSLabel,
}

// mfKnativeContext is the context Knative's webhooks validate a create
// in on a fresh install: the defaults of config-defaults, config-features
// and config-autoscaler (Serving), config-br-defaults and
// config-features (Eventing), with the webhook's create marker. None of the manifests needs a feature flag:
// Trigger spec.filters, which once needed new-trigger-filters, is GA in
// Eventing 1.23 and has no flag any more.
func mfKnativeContext(t *testing.T) context.Context {
	t.Helper()
	servingDefaults, err := servingcfg.NewDefaultsConfigFromMap(map[string]string{})
	require.NoError(t, err)
	servingFeatures, err := servingcfg.NewFeaturesConfigFromMap(map[string]string{})
	require.NoError(t, err)
	autoscaler, err := asconfig.NewConfigFromMap(map[string]string{})
	require.NoError(t, err)
	ctx := servingcfg.ToContext(context.Background(), &servingcfg.Config{Defaults: servingDefaults, Features: servingFeatures, Autoscaler: autoscaler})
	brokerDefaults, err := eventingcfg.NewDefaultsConfigFromMap(map[string]string{eventingcfg.BrokerDefaultsKey: mfBrokerDefaults})
	require.NoError(t, err)
	ctx = eventingcfg.ToContext(ctx, &eventingcfg.Config{Defaults: brokerDefaults})
	flags, err := feature.NewFlagsConfigFromMap(map[string]string{})
	require.NoError(t, err)
	ctx = feature.ToContext(ctx, flags)
	return apis.WithinCreate(ctx)
}

// mfBrokerDefaults is config-br-defaults as Knative Eventing 1.23 ships it.
// The Broker names its class and config, so these defaults do not apply to
// it; Eventing refuses to validate without them.
const mfBrokerDefaults = `clusterDefault:
  brokerClass: MTChannelBasedBroker
  apiVersion: v1
  kind: ConfigMap
  name: config-br-default-channel
  namespace: knative-eventing
  delivery:
    retry: 10
    backoffPolicy: exponential
    backoffDelay: PT0.2S
`

// mfKnativeProblems defaults o and validates it as the webhook does, and
// returns every diagnostic, errors and warnings alike: a warning does not
// stop kubectl apply, but it is printed on every apply and means the
// manifest relies on an insecure or deprecated default.
func mfKnativeProblems(ctx context.Context, o mfValidatable) []string {
	if o.GetNamespace() == "" {
		o.SetNamespace(mfNamespace)
	}
	o.SetDefaults(ctx)
	fe := o.Validate(ctx)
	var problems []string
	if e := fe.Filter(apis.ErrorLevel); e != nil {
		problems = append(problems, "error: "+e.Error())
	}
	if w := fe.Filter(apis.WarningLevel); w != nil {
		problems = append(problems, "warning: "+w.Error())
	}
	return problems
}

// mfPodProblems checks a pod spec of the manifests: the restricted Pod
// Security profile on every container (what Knative warns about for its
// Services, here for every pod), resources, pinned images, and references
// to volumes, claims, ConfigMaps, Secrets and ServiceAccounts that exist.
func mfPodProblems(set *mfSet, spec corev1.PodSpec) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if spec.ServiceAccountName != "" && set.serviceAccounts[spec.ServiceAccountName] == nil {
		add("ServiceAccount %s is not in the manifests", spec.ServiceAccountName)
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
		if v.PersistentVolumeClaim != nil && set.pvcs[v.PersistentVolumeClaim.ClaimName] == nil {
			add("volume %s claims %s, which is not in the manifests", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		switch image, ko := strings.CutPrefix(c.Image, "ko://"); {
		case ko:
			if !strings.HasPrefix(image, module+"/") || !mfIsMain(filepath.Join(repoRoot, strings.TrimPrefix(image, module+"/"))) {
				add("%s: image %s is not a main package of this module", c.Name, c.Image)
			}
		case !strings.Contains(image[strings.LastIndex(image, "/")+1:], ":") || strings.HasSuffix(image, ":latest"):
			add("%s: image %s is not pinned to a version", c.Name, c.Image)
		}
		if !(ptrTrue(sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && ptrTrue(psc.RunAsNonRoot))) {
			add("%s: runAsNonRoot is not true", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			add("%s: allowPrivilegeEscalation is not false", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			add("%s: capabilities do not drop ALL", c.Name)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			add("%s: no RuntimeDefault or Localhost seccomp profile", c.Name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			add("%s: resources need cpu and memory requests and a memory limit", c.Name)
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				add("%s: mounts %s, which is no volume of the pod", c.Name, m.Name)
			}
		}
		for _, env := range c.Env {
			switch from := env.ValueFrom; {
			case from == nil:
			case from.ConfigMapKeyRef != nil:
				if set.configMaps[from.ConfigMapKeyRef.Name] == nil {
					add("%s: env %s reads ConfigMap %s, which is not in the manifests", c.Name, env.Name, from.ConfigMapKeyRef.Name)
				}
			case from.SecretKeyRef != nil:
				if _, ok := mfExternalSecrets[from.SecretKeyRef.Name]; !ok {
					add("%s: env %s reads Secret %s, which the README does not create", c.Name, env.Name, from.SecretKeyRef.Name)
				}
			}
		}
	}
	return problems
}

func ptrTrue(b *bool) bool { return b != nil && *b }

// mfOptional reports whether env comes from a ConfigMap or Secret key that
// may be missing.
func mfOptional(env corev1.EnvVar) bool {
	from := env.ValueFrom
	return from != nil && ((from.ConfigMapKeyRef != nil && ptrTrue(from.ConfigMapKeyRef.Optional)) ||
		(from.SecretKeyRef != nil && ptrTrue(from.SecretKeyRef.Optional)))
}

// mfMainPackages returns the folders directly in dir whose Go files (tests
// aside) are package main.
func mfMainPackages(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var mains []string
	for _, e := range entries {
		if e.IsDir() && mfIsMain(filepath.Join(dir, e.Name())) {
			mains = append(mains, e.Name())
		}
	}
	return mains
}

// mfIsMain reports whether the Go files of dir, tests aside, are package
// main.
func mfIsMain(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly)
		if err == nil && f.Name.Name == "main" {
			return true
		}
	}
	return false
}

// mfTriggerConfig is what passes needs of a trigger.
func mfTriggerConfig(tr *eventingv1.Trigger) broker.TriggerConfig {
	return broker.TriggerConfig{Name: tr.Name, Filters: tr.Spec.Filters, Filter: tr.Spec.Filter}
}

// mfCluster stands in for the Kafka broker in TestManifestsGrantWhatFunctionsUse:
// an ingress that hands every event to the subscribers of the manifests'
// triggers that take it, synchronously, before it answers 202; or 503
// while down. It records the DynamoDB calls of each function.
type mfCluster struct {
	t    *testing.T
	auth *web.Auth
	url  map[string]string // function → base URL
	// routes maps "type|source" to the subscribers whose triggers take
	// it, for every event a function may emit: decided once, up front,
	// with Knative's filters.
	routes map[string][]string
	down   atomic.Bool
	keys   atomic.Int64

	mu       sync.Mutex
	requests map[string][]deploy.Request // function → IAM authorizations of its calls
	unknown  []string
	received []cloudevents.Event
	failures []string
}

func newMFCluster(t *testing.T, set *mfSet) *mfCluster {
	auth, err := web.NewAuth([]byte("manifests-test-secret-of-32-bytes!!"), market.IsUserID)
	require.NoError(t, err)
	c := &mfCluster{t: t, auth: auth, url: map[string]string{}, routes: map[string][]string{}, requests: map[string][]deploy.Request{}}
	for from, types := range emits {
		for _, typ := range types {
			key := string(typ) + "|/carrot/" + from
			c.routes[key] = []string{}
			for _, tr := range set.triggers {
				if tr.Spec.Subscriber.Ref != nil && passes(t, mfTriggerConfig(tr), eventOf(typ, from)) {
					c.routes[key] = append(c.routes[key], tr.Spec.Subscriber.Ref.Name)
				}
			}
		}
	}
	return c
}

func (c *mfCluster) record(fn string, reqs []deploy.Request, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.unknown = append(c.unknown, fn+": "+err.Error())
	}
	c.requests[fn] = append(c.requests[fn], reqs...)
}

func (c *mfCluster) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

// ServeHTTP is the broker's ingress.
func (c *mfCluster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.down.Load() {
		http.Error(w, "the broker is down", http.StatusServiceUnavailable)
		return
	}
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		c.fail("ingress: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.received = append(c.received, *e)
	subscribers, known := c.routes[e.Type()+"|"+e.Source()]
	c.mu.Unlock()
	if !known {
		c.fail("ingress: %s from %s is no event of the emits table", e.Type(), e.Source())
	}
	for _, fn := range subscribers {
		req, err := cehttp.NewHTTPRequestFromEvent(r.Context(), c.url[fn], *e)
		if err == nil {
			var res *http.Response
			if res, err = http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode >= 300 {
					err = fmt.Errorf("answered %d", res.StatusCode)
				}
			}
		}
		if err != nil {
			c.fail("delivering %s %s to %s: %v", e.Type(), e.ID(), fn, err)
			http.Error(w, "a subscriber failed", http.StatusBadGateway)
			return
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

// want calls a function's route as user ("" sends no token) and requires
// the status; it returns the body.
func (c *mfCluster) want(status int, fn, user, method, path, body string, header ...string) []byte {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.url[fn]+path, rd)
	require.NoError(c.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		token, err := c.auth.Issue(user, time.Hour)
		require.NoError(c.t, err)
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	require.Equal(c.t, status, res.StatusCode, "%s %s %s: %s", fn, method, path, raw)
	return raw
}

// post creates something with an Idempotency-Key, then retries it with the
// same key, as a client would after a lost answer: the retry replays the
// first answer (and reads the idempotency record).
func (c *mfCluster) post(fn, user, path, body string) map[string]any {
	c.t.Helper()
	key := fmt.Sprintf("manifests-%d", c.keys.Add(1))
	first := c.want(http.StatusCreated, fn, user, http.MethodPost, path, body, web.IdempotencyKeyHeader, key)
	again := c.want(http.StatusCreated, fn, user, http.MethodPost, path, body, web.IdempotencyKeyHeader, key)
	require.JSONEq(c.t, string(first), string(again), "%s POST %s replays its first answer", fn, path)
	return c.json(first)
}

func (c *mfCluster) json(raw []byte) map[string]any {
	c.t.Helper()
	var m map[string]any
	require.NoError(c.t, json.Unmarshal(raw, &m), "%s", raw)
	return m
}

// ping wakes fn as its PingSource does.
func (c *mfCluster) ping(fn string) {
	c.t.Helper()
	e := cloudevents.NewEvent()
	e.SetID("ping-1")
	e.SetType(local.PingSourceType)
	e.SetSource("/apis/v1/namespaces/" + mfNamespace + "/pingsources/" + fn)
	require.NoError(c.t, e.SetData(cloudevents.ApplicationJSON, map[string]string{"reason": "relay the outbox"}))
	req, err := cehttp.NewHTTPRequestFromEvent(context.Background(), c.url[fn], e)
	require.NoError(c.t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	require.Less(c.t, res.StatusCode, 300, "%s answered the ping: %s", fn, raw)
}

// TestManifestsLetPrometheusScrapeTheFunctions checks that the pods of
// every Service ask Prometheus, by the prometheus.io annotations its
// Kubernetes pod discovery reads, to scrape telemetry.MetricsPath on the
// port the function serves its metrics on ($CARROT_METRICS_PORT): a port
// apart from the one Knative routes requests to, so that no request and no
// gateway reaches the metrics, and none that Knative's queue-proxy takes
// in the same pod.
func TestManifestsLetPrometheusScrapeTheFunctions(t *testing.T) {
	t.Parallel()
	set := mfLoad(t)
	queueProxy := []int{servingnet.BackendHTTPPort, servingnet.BackendHTTP2Port, servingnet.QueueAdminPort,
		servingnet.AutoscalingQueueMetricsPort, servingnet.UserQueueMetricsPort, knativeruntime.ProfilingDefaultPort}
	require.NotEmpty(t, set.services)
	for name, svc := range set.services {
		tmpl := svc.Spec.Template
		c := tmpl.Spec.Containers[0]
		i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == web.MetricsPortEnv })
		if !assert.GreaterOrEqual(t, i, 0, "%s sets $%s", name, web.MetricsPortEnv) {
			continue
		}
		port, err := strconv.Atoi(c.Env[i].Value)
		require.NoError(t, err, "%s: $%s", name, web.MetricsPortEnv)
		servingPort := servingv1.DefaultUserPort
		if len(c.Ports) > 0 {
			servingPort = int(c.Ports[0].ContainerPort)
		}
		assert.NotEqual(t, servingPort, port, "%s serves its metrics apart from its requests", name)
		assert.NotContains(t, queueProxy, port, "%s: the queue-proxy listens on %d", name, port)

		a := tmpl.Annotations
		assert.Equal(t, "true", a["prometheus.io/scrape"], "%s is scraped", name)
		assert.Equal(t, strconv.Itoa(port), a["prometheus.io/port"], "%s is scraped on its metrics port", name)
		assert.Equal(t, telemetry.MetricsPath, a["prometheus.io/path"], name)
	}
	for r := range registry.Routes() {
		assert.NotEqual(t, telemetry.MetricsPath, r.Path, "the gateway routes no request to a function's metrics")
	}
}
