package controlplane_test

// These tests apply knative/ to a real API server with Knative's CRDs,
// webhooks and controllers (package controlplane), following the README's
// deploy steps, and check what a cluster makes of it: every object is
// admitted with no warning, every Service becomes a Configuration, a
// Revision and a Deployment whose pod template holds what the manifest
// declares, the SinkBinding gives K_SINK to exactly the Services that
// emit events, and the eventing objects keep their delivery settings.
// Copies of manifests broken on purpose show that these checks fail.
//
// What this control plane cannot make Ready is named in notReady, never
// faked. One thing is stood in for: eventing-kafka-broker's controller,
// which is not in the module proxy, publishes the Kafka Broker's address;
// the test writes that address (the one the README gives) into the
// Broker's status, and nothing else, so that the SinkBinding has a sink
// to inject.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/manifest"
	"github.com/carrot-market/carrot/tests/controlplane"
)

// namespace is where the README deploys.
const namespace = "carrot"

// notReady names what stays short of Ready on this control plane, and
// why; the test checks none of it becomes Ready by a fault of the
// manifests instead, and fakes none of it.
var notReady = map[string]string{
	"Service (serving.knative.dev)": "no node runs the revision's pod and no network layer (Kourier) makes the Route's Ingress, " +
		"so RoutesReady and ConfigurationsReady stay short of True",
	"Revision":             "its Deployment has no pod (no nodes), and no autoscaler runs to make the PodAutoscaler Ready",
	"Broker (class Kafka)": "reconciled by eventing-kafka-broker's controller, not in the module proxy: its status stays empty but for the address the test writes",
	"Trigger":              "reconciled with its Kafka Broker by eventing-kafka-broker's controller: status stays empty",
	"KafkaSink":            "its CRD is eventing-kafka-broker's, not in the module proxy: not applied (the API server answers no such kind)",
	"PingSource":           "its sink, a Knative Service, gets no address without a network layer, so SinkProvided stays False",
	"Deployment dynamodb-local, Job carrot-create-tables": "no node runs their pods",
	"PersistentVolumeClaim dynamodb-local":                "no storage provisioner binds it",
}

// brokerAddress is the Kafka Broker's ingress for a namespace, as
// eventing-kafka-broker publishes it (README, "Deploy to Knative").
func brokerAddress(ns string) string {
	return fmt.Sprintf("http://kafka-broker-ingress.knative-eventing.svc.cluster.local/%s/carrot", ns)
}

var (
	kindService     = schema.GroupVersionKind{Group: "serving.knative.dev", Version: "v1", Kind: "Service"}
	kindRevision    = schema.GroupVersionKind{Group: "serving.knative.dev", Version: "v1", Kind: "Revision"}
	kindConfig      = schema.GroupVersionKind{Group: "serving.knative.dev", Version: "v1", Kind: "Configuration"}
	kindDeployment  = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	kindBroker      = schema.GroupVersionKind{Group: "eventing.knative.dev", Version: "v1", Kind: "Broker"}
	kindTrigger     = schema.GroupVersionKind{Group: "eventing.knative.dev", Version: "v1", Kind: "Trigger"}
	kindPingSource  = schema.GroupVersionKind{Group: "sources.knative.dev", Version: "v1", Kind: "PingSource"}
	kindSinkBinding = schema.GroupVersionKind{Group: "sources.knative.dev", Version: "v1", Kind: "SinkBinding"}
)

func TestKnativeOnTheControlPlane(t *testing.T) {
	cp := controlplane.MustStart(t)
	for what, why := range notReady {
		t.Logf("not Ready here, by design: %s: %s", what, why)
	}
	t.Run("README deploy", func(t *testing.T) {
		t.Parallel()
		testDeploy(t, cp)
	})
	t.Run("broken copies", func(t *testing.T) {
		t.Parallel()
		testBrokenCopies(t, cp)
	})
}

// testDeploy follows the README's deploy steps with DynamoDB Local in
// the cluster, then checks what the cluster made of them.
func testDeploy(t *testing.T, cp *controlplane.ControlPlane) {
	ctx := context.Background()
	steps := []struct {
		name string
		objs []controlplane.Object
	}{
		{"1. the namespace", mustDecode(t, "namespace", namespaceYAML(namespace))},
		{"2. the token secret", mustDecode(t, "secret", secretYAML)},
		// 3 and 4: config.yaml with dynamodb-endpoint set, as the README's
		// sed does for DynamoDB Local.
		{"3. the shared settings", mustRead(t, "knative/config.yaml", replaceOnce("\n  # dynamodb-endpoint:", "\n  dynamodb-endpoint:"))},
		{"4. the ServiceAccounts", mustRead(t, "knative/serviceaccounts.yaml", nil)},
		{"4. DynamoDB Local", mustRead(t, "knative/dynamodb-local/dynamodb-local.yaml", nil)},
		{"4. the table bootstrap Job", mustRead(t, "knative/dynamodb-local/create-tables.yaml", koApply)},
		{"5. the functions", mustReadDir(t, "knative/services", koApply)},
		{"6. eventing", mustReadDir(t, "knative/eventing", nil)},
	}
	for _, step := range steps {
		for _, obj := range step.objs {
			applied, err := cp.Apply(ctx, obj, namespace)
			if obj.GetKind() == "KafkaSink" {
				assert.True(t, meta.IsNoMatchError(err), "%s: the KafkaSink's CRD is not installed here (notReady), so the API server should know no such kind; got %v", obj.Source, err)
				continue
			}
			if assert.NoError(t, err, step.name) {
				assert.Empty(t, applied.Warnings, "%s: %s %s is admitted with warnings", step.name, obj.GetKind(), obj.GetName())
			}
		}
	}
	require.False(t, t.Failed(), "every object of the README's steps is admitted")

	mustPublishBrokerAddress(t, cp, namespace)
	services := manifest.Objects[*servingv1.Service](mustLoad(t, "knative/services"))
	require.NotEmpty(t, services)
	var names []string
	for _, svc := range services {
		names = append(names, svc.Name)
	}
	mustWaitBound(t, cp, namespace, "carrot-emitters")
	deployments := mustSettle(t, cp, namespace, names)

	for _, svc := range services {
		t.Run("pod template of "+svc.Name, func(t *testing.T) {
			checkPodTemplate(t, svc, deployments[svc.Name])
		})
	}
	checkSinks(t, deployments, emitters(), brokerAddress(namespace))

	eventing := mustLoad(t, "knative/eventing")
	t.Run("broker", func(t *testing.T) {
		checkStored(t, cp, eventing, kindBroker, func(t *testing.T, want, got *eventingv1.Broker) {
			assert.Equal(t, want.Annotations[eventingv1.BrokerClassAnnotationKey], got.Annotations[eventingv1.BrokerClassAnnotationKey])
			// The webhook fills in the namespace the manifest leaves out.
			wantConfig := want.Spec.Config.DeepCopy()
			wantConfig.Namespace = namespace
			assert.Equal(t, wantConfig, got.Spec.Config)
			checkDelivery(t, "Broker "+want.Name, want.Spec.Delivery, got.Spec.Delivery)
		})
	})
	t.Run("triggers", func(t *testing.T) {
		checkStored(t, cp, eventing, kindTrigger, func(t *testing.T, want, got *eventingv1.Trigger) {
			assert.Equal(t, want.Spec.Broker, got.Spec.Broker)
			assert.Equal(t, want.Spec.Filters, got.Spec.Filters)
			assert.Equal(t, want.Spec.Subscriber.Ref.Name, got.Spec.Subscriber.Ref.Name)
			for k, v := range want.Annotations {
				assert.Equal(t, v, got.Annotations[k], "annotation %s", k)
			}
			checkDelivery(t, "Trigger "+want.Name, want.Spec.Delivery, got.Spec.Delivery)
		})
	})
	t.Run("ping sources", func(t *testing.T) {
		checkStored(t, cp, eventing, kindPingSource, func(t *testing.T, want, got *sourcesv1.PingSource) {
			assert.Equal(t, want.Spec.Schedule, got.Spec.Schedule)
			assert.Equal(t, want.Spec.ContentType, got.Spec.ContentType)
			assert.Equal(t, want.Spec.Data, got.Spec.Data)
			assert.Equal(t, want.Spec.Sink.Ref.Name, got.Spec.Sink.Ref.Name)
			// Eventing's controller has read it: what stops it is its sink.
			assert.True(t, eventually(time.Minute, func() bool {
				mustGetAs(t, cp, kindPingSource, want.Name, got)
				return got.Status.ObservedGeneration == got.Generation
			}), "the controller reconciles it")
			if c := got.Status.GetCondition(sourcesv1.PingSourceConditionSinkProvided); assert.NotNil(t, c) {
				assert.False(t, c.IsTrue(), "notReady says its sink has no address here")
			}
		})
	})
}

// checkStored runs check on every object of type T among docs, beside the
// object the cluster stored for it, in a subtest named after it.
func checkStored[T any, PT interface {
	*T
	metav1.Object
}](t *testing.T, cp *controlplane.ControlPlane, docs []manifest.Document, gvk schema.GroupVersionKind, check func(t *testing.T, want, got PT)) {
	objs := manifest.Objects[PT](docs)
	require.NotEmpty(t, objs, "the manifests have a %s", gvk.Kind)
	for _, want := range objs {
		t.Run(want.GetName(), func(t *testing.T) {
			got := PT(new(T))
			mustGetAs(t, cp, gvk, want.GetName(), got)
			check(t, want, got)
		})
	}
}

// testBrokenCopies applies copies of manifests broken on purpose, each in
// a namespace of its own, and checks that the same checks fail.
func testBrokenCopies(t *testing.T, cp *controlplane.ControlPlane) {
	ctx := context.Background()
	unknownField := []struct {
		name, file string
		edit       func(string) string
	}{
		{
			name: "a container field Kubernetes does not know",
			file: "knative/services/pay.yaml",
			edit: replaceOnce("          readinessProbe:", "          readinessProbes:"),
		},
		{
			name: "a delivery field Knative's Trigger schema does not know",
			file: "knative/eventing/triggers.yaml",
			edit: replaceOnce("    backoffDelay: PT1S", "    backoffDelays: PT1S"),
		},
		{
			name: "a metadata field nobody knows",
			file: "knative/config.yaml",
			edit: replaceOnce("  name: carrot-config", "  name: carrot-config\n  nickname: carrot"),
		},
	}
	for i, tc := range unknownField {
		t.Run(tc.name, func(t *testing.T) {
			ns := fmt.Sprintf("broken-field-%d", i)
			mustApplyAll(t, cp, ns, mustDecode(t, "namespace", namespaceYAML(ns)))
			var failed []error
			for _, obj := range mustRead(t, tc.file, tc.edit) {
				if _, err := cp.Apply(ctx, obj, ns); err != nil {
					failed = append(failed, err)
				}
			}
			require.Len(t, failed, 1, "one document of %s is broken", tc.file)
			// Strict field validation words it so on create; server-side
			// apply, which builds a typed patch first, says the other.
			assert.Regexp(t, `unknown field|field not declared in schema`, failed[0].Error())
		})
	}

	t.Run("an emitting Service the SinkBinding does not select", func(t *testing.T) {
		ns := "broken-binding"
		mustApplyAll(t, cp, ns, mustDecode(t, "namespace", namespaceYAML(ns)))
		broker := mustRead(t, "knative/eventing/broker.yaml", nil)[:1]
		mustApplyAll(t, cp, ns, broker)
		mustApplyAll(t, cp, ns, mustRead(t, "knative/eventing/sinkbinding.yaml", nil))
		mustApplyAll(t, cp, ns, mustRead(t, "knative/services/pay.yaml", func(s string) string {
			return koApply(strings.Replace(s, "    carrot.dev/emits: \"true\"\n", "", 1))
		}))
		mustPublishBrokerAddress(t, cp, ns)
		mustWaitBound(t, cp, ns, "carrot-emitters")
		deployments := mustSettle(t, cp, ns, []string{"pay"})

		rec := &recorder{}
		checkSinks(rec, deployments, map[string]bool{"pay": true}, brokerAddress(ns))
		require.NotEmpty(t, rec.errors, "the check of K_SINK fails")
		assert.Contains(t, strings.Join(rec.errors, "\n"), "pay")
	})
}

// checkPodTemplate checks that the Deployment Knative made for a Service's
// latest revision runs what the manifest declares: the service account,
// the env, the probes, the resources and the security context.
func checkPodTemplate(t *testing.T, want *servingv1.Service, got appsv1.Deployment) {
	spec := want.Spec.Template.Spec
	pod := got.Spec.Template.Spec
	assert.Equal(t, spec.ServiceAccountName, pod.ServiceAccountName)
	require.Len(t, spec.Containers, 1)
	declared := spec.Containers[0]
	user, queue := container(pod, "user-container"), container(pod, "queue-proxy")
	require.NotNil(t, user, "the Deployment runs the user container")
	require.NotNil(t, queue, "the Deployment runs Knative's queue-proxy beside it")

	assert.Equal(t, koImage(declared.Image), user.Image, "ko apply's image, unresolved (ko.local skips tag resolution)")
	for _, env := range declared.Env {
		assert.Contains(t, user.Env, env, "the user container has the manifest's env %s", env.Name)
	}
	assert.Equal(t, declared.Resources, user.Resources)
	assert.Equal(t, declared.SecurityContext, user.SecurityContext)

	// Knative sends the readiness probe to the queue-proxy, which runs it
	// against the user container, and gives the liveness probe the user
	// container's port.
	if assert.NotNil(t, declared.LivenessProbe) && assert.NotNil(t, user.LivenessProbe) {
		assert.Equal(t, declared.LivenessProbe.HTTPGet.Path, user.LivenessProbe.HTTPGet.Path)
		assert.Equal(t, declared.LivenessProbe.PeriodSeconds, user.LivenessProbe.PeriodSeconds)
		assert.Equal(t, declared.LivenessProbe.FailureThreshold, user.LivenessProbe.FailureThreshold)
	}
	if assert.NotNil(t, declared.ReadinessProbe) {
		var readiness corev1.Probe
		probe := envValue(queue.Env, "SERVING_READINESS_PROBE")
		if assert.NotEmpty(t, probe, "queue-proxy has the readiness probe") && assert.NoError(t, json.Unmarshal([]byte(probe), &readiness)) {
			assert.Equal(t, declared.ReadinessProbe.HTTPGet.Path, readiness.HTTPGet.Path)
			assert.Equal(t, declared.ReadinessProbe.PeriodSeconds, readiness.PeriodSeconds)
		}
	}
}

// checkSinks checks that K_SINK, the broker's address, is in the user
// container of exactly the emitters' Deployments.
func checkSinks(t assert.TestingT, deployments map[string]appsv1.Deployment, emitters map[string]bool, sink string) {
	for name, d := range deployments {
		user := container(d.Spec.Template.Spec, "user-container")
		if !assert.NotNil(t, user, "%s runs its user container", name) {
			continue
		}
		got := envValue(user.Env, "K_SINK")
		if emitters[name] {
			assert.Equal(t, sink, got, "%s emits events: the SinkBinding gives it K_SINK", name)
		} else {
			assert.Empty(t, got, "%s emits no event: the SinkBinding leaves it alone", name)
		}
	}
}

// checkDelivery checks that the delivery stored is the manifest's; the
// webhook may only fill in the dead-letter reference's namespace.
func checkDelivery(t *testing.T, what string, want, got *eventingduckv1.DeliverySpec) {
	if !assert.NotNil(t, want, what) || !assert.NotNil(t, got, what) {
		return
	}
	assert.Equal(t, want.Retry, got.Retry, "%s: retry", what)
	assert.Equal(t, want.BackoffPolicy, got.BackoffPolicy, "%s: backoffPolicy", what)
	assert.Equal(t, want.BackoffDelay, got.BackoffDelay, "%s: backoffDelay", what)
	assert.Equal(t, want.Timeout, got.Timeout, "%s: timeout", what)
	if assert.NotNil(t, got.DeadLetterSink, what) && assert.NotNil(t, got.DeadLetterSink.Ref, what) {
		ref := want.DeadLetterSink.Ref
		assert.Equal(t, ref.APIVersion+" "+ref.Kind+" "+ref.Name, got.DeadLetterSink.Ref.APIVersion+" "+got.DeadLetterSink.Ref.Kind+" "+got.DeadLetterSink.Ref.Name, "%s: dead letters", what)
	}
}

// emitters are the functions that send events, and so need K_SINK.
func emitters() map[string]bool {
	out := map[string]bool{}
	for _, f := range registry.All {
		if len(f.Emits) > 0 || f.Relay {
			out[f.Name] = true
		}
	}
	return out
}

// mustPublishBrokerAddress writes the carrot Broker's address into its
// status, standing in for eventing-kafka-broker's controller (see the
// head of this file).
func mustPublishBrokerAddress(t *testing.T, cp *controlplane.ControlPlane, ns string) {
	ctx := context.Background()
	ri, err := cp.Resource(kindBroker, ns)
	require.NoError(t, err)
	broker, err := ri.Get(ctx, "carrot", metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, unstructured.SetNestedField(broker.Object, brokerAddress(ns), "status", "address", "url"))
	_, err = ri.UpdateStatus(ctx, broker, metav1.UpdateOptions{})
	require.NoError(t, err)
}

// mustWaitBound waits until the SinkBinding is Ready: its sink resolved
// and its subjects patched.
func mustWaitBound(t *testing.T, cp *controlplane.ControlPlane, ns, name string) {
	var last *unstructured.Unstructured
	ok := eventually(2*time.Minute, func() bool {
		var err error
		last, err = cp.Get(context.Background(), kindSinkBinding, ns, name)
		return err == nil && readyTrue(last)
	})
	require.True(t, ok, "SinkBinding %s/%s becomes Ready; last: %v", ns, name, last)
}

// mustSettle waits until each Service has been reconciled into its
// Configuration and its latest Revision, and returns the Deployment of
// that Revision, by Service.
func mustSettle(t *testing.T, cp *controlplane.ControlPlane, ns string, names []string) map[string]appsv1.Deployment {
	ctx := context.Background()
	out := map[string]appsv1.Deployment{}
	for _, name := range names {
		var why string
		ok := eventually(3*time.Minute, func() bool {
			svc, err := cp.Get(ctx, kindService, ns, name)
			if err != nil {
				why = err.Error()
				return false
			}
			observed, _, _ := unstructured.NestedInt64(svc.Object, "status", "observedGeneration")
			if observed != svc.GetGeneration() {
				why = fmt.Sprintf("Service observed generation %d of %d", observed, svc.GetGeneration())
				return false
			}
			cfg, err := cp.Get(ctx, kindConfig, ns, name)
			if err != nil {
				why = err.Error()
				return false
			}
			revName, _, _ := unstructured.NestedString(cfg.Object, "status", "latestCreatedRevisionName")
			rev, err := cp.Get(ctx, kindRevision, ns, revName)
			if err != nil {
				why = "revision: " + err.Error()
				return false
			}
			if rev.GetLabels()["serving.knative.dev/configurationGeneration"] != fmt.Sprint(cfg.GetGeneration()) {
				why = "the latest revision is not of the Configuration's generation yet"
				return false
			}
			d, err := cp.Get(ctx, kindDeployment, ns, revName+"-deployment")
			if err != nil {
				why = "deployment: " + err.Error()
				return false
			}
			var dep appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.Object, &dep); err != nil {
				why = err.Error()
				return false
			}
			out[name] = dep
			return true
		})
		require.True(t, ok, "Service %s/%s gets its Configuration, Revision and Deployment: %s", ns, name, why)
	}
	return out
}
