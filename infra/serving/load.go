package serving

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	"knative.dev/serving/pkg/apis/autoscaling"
	autoscalingv1alpha1 "knative.dev/serving/pkg/apis/autoscaling/v1alpha1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	asconfig "knative.dev/serving/pkg/autoscaler/config"
	"knative.dev/serving/pkg/autoscaler/config/autoscalerconfig"
	"knative.dev/serving/pkg/reconciler/autoscaling/resources"

	"github.com/carrot-market/carrot/infra/manifest"
)

const (
	koScheme = "ko://"
	// defaultNamespace is where kubectl apply puts a manifest that names
	// no namespace; Knative's validation wants one.
	defaultNamespace = "default"
)

// LoadOption supplies what a Service's environment refers to.
type LoadOption func(*references)

// WithConfigMap makes the ConfigMap called name, holding data, available
// to configMapKeyRef and configMapRef.
func WithConfigMap(name string, data map[string]string) LoadOption {
	return func(r *references) { r.configMaps[name] = data }
}

// WithSecret makes the Secret called name, holding data (plain text, not
// base64), available to secretKeyRef and secretRef.
func WithSecret(name string, data map[string]string) LoadOption {
	return func(r *references) { r.secrets[name] = data }
}

// references are the ConfigMaps and Secrets env references resolve from.
type references struct {
	configMaps map[string]map[string]string
	secrets    map[string]map[string]string
}

// LoadServices reads every Knative Service in the .yaml and .yml files
// directly in dir (for carrot, knative/services) and returns one Spec per
// Service, sorted by name. Every document is decoded strictly into its API
// type (package manifest); other kinds are skipped.
//
// It fails fast on what Knative would refuse, with Knative's own
// SetDefaults and Validate (whose warnings are ignored), and on what cannot run locally: an image that
// is not a ko:// import path, more than one container, an exec or gRPC
// probe, an env reference to a ConfigMap or Secret key that the options do
// not supply (unless the reference is optional), fieldRef and
// resourceFieldRef. $(VAR) references inside values are not expanded.
func LoadServices(dir string, opts ...LoadOption) ([]Spec, error) {
	refs := references{configMaps: map[string]map[string]string{}, secrets: map[string]map[string]string{}}
	for _, opt := range opts {
		opt(&refs)
	}
	docs, err := manifest.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("serving: read manifests: %w", err)
	}
	var specs []Spec
	for _, doc := range docs {
		svc, ok := doc.Object.(*servingv1.Service)
		if !ok {
			continue
		}
		spec, err := specOf(context.Background(), svc, refs)
		if err != nil {
			return nil, fmt.Errorf("serving: %s: Service %s: %w", doc, svc.Name, err)
		}
		specs = append(specs, spec)
	}
	slices.SortFunc(specs, func(a, b Spec) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(specs); i++ {
		if specs[i].Name == specs[i-1].Name {
			return nil, fmt.Errorf("serving: %s: Service %s is defined twice", dir, specs[i].Name)
		}
	}
	return specs, nil
}

// specOf defaults and validates svc as Knative's webhook would, then reads
// the autoscaling knobs the way Knative's autoscaler resolves them.
func specOf(ctx context.Context, svc *servingv1.Service, refs references) (Spec, error) {
	if svc.Namespace == "" {
		svc.Namespace = defaultNamespace
	}
	svc.SetDefaults(ctx)
	// Warnings (such as Kubernetes' insecure securityContext defaults)
	// would not stop kubectl apply, so they do not stop the runtime.
	if err := svc.Validate(ctx).Filter(apis.ErrorLevel); err != nil {
		return Spec{}, err
	}
	revision := svc.Spec.Template
	if n := len(revision.Spec.Containers); n != 1 {
		return Spec{}, fmt.Errorf("has %d containers; the local runtime runs exactly one", n)
	}
	container := revision.Spec.Containers[0]
	importPath, ok := strings.CutPrefix(container.Image, koScheme)
	if !ok || importPath == "" {
		return Spec{}, fmt.Errorf("image %q is not a %s import path, so it cannot be built locally", container.Image, koScheme)
	}
	env, err := resolveEnv(container, refs)
	if err != nil {
		return Spec{}, err
	}
	readiness, err := probeOf(container.ReadinessProbe)
	if err != nil {
		return Spec{}, fmt.Errorf("readinessProbe: %w", err)
	}
	spec := Spec{
		Name:                 svc.Name,
		ImportPath:           importPath,
		ContainerConcurrency: int(revision.Spec.GetContainerConcurrency()),
		Timeout:              time.Duration(*revision.Spec.TimeoutSeconds) * time.Second,
		Env:                  env,
		Readiness:            readiness,
	}
	if container.LivenessProbe != nil {
		liveness, err := probeOf(container.LivenessProbe)
		if err != nil {
			return Spec{}, fmt.Errorf("livenessProbe: %w", err)
		}
		spec.Liveness = &liveness
	}
	spec.Target, spec.MinScale, spec.MaxScale, spec.IdleGrace = autoscale(revision.Annotations, revision.Spec.GetContainerConcurrency())
	return spec, nil
}

// autoscalerDefaults is config-autoscaler as Knative ships it.
var autoscalerDefaults = func() *autoscalerconfig.Config {
	cfg, err := asconfig.NewConfigFromMap(nil)
	if err != nil {
		panic(err) // Knative's own defaults are valid.
	}
	return cfg
}()

// autoscale reads the autoscaling annotations (autoscaling.TargetAnnotationKey,
// MinScaleAnnotationKey, MaxScaleAnnotationKey, WindowAnnotationKey and
// their legacy spellings) through the PodAutoscaler Knative would make of
// the revision, and resolves the target with Knative's own
// ResolveMetricTarget. Scaling is always by concurrency: the metric
// annotation is ignored.
func autoscale(annotations map[string]string, containerConcurrency int64) (target float64, minScale, maxScale int, window time.Duration) {
	annotations = maps.Clone(annotations)
	delete(annotations, autoscaling.MetricAnnotationKey)
	pa := &autoscalingv1alpha1.PodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Annotations: annotations},
		Spec:       autoscalingv1alpha1.PodAutoscalerSpec{ContainerConcurrency: containerConcurrency},
	}
	target, _ = resources.ResolveMetricTarget(pa, autoscalerDefaults)
	lower, upper := pa.ScaleBounds(autoscalerDefaults)
	window, ok := pa.Window()
	if !ok {
		window = autoscalerDefaults.StableWindow
	}
	return target, int(lower), int(upper), window
}

// probeOf reads an HTTP GET or TCP socket probe with Kubernetes' defaults
// for the fields left out. A nil probe is Knative's default TCP probe.
func probeOf(p *corev1.Probe) (Probe, error) {
	if p == nil {
		return Probe{}, nil
	}
	if p.Exec != nil || p.GRPC != nil {
		return Probe{}, errors.New("only httpGet and tcpSocket probes run locally")
	}
	probe := Probe{
		Period:           time.Duration(p.PeriodSeconds) * time.Second,
		Timeout:          time.Duration(p.TimeoutSeconds) * time.Second,
		FailureThreshold: int(p.FailureThreshold),
	}
	if p.HTTPGet != nil {
		probe.Path = p.HTTPGet.Path
		if probe.Path == "" {
			probe.Path = "/"
		}
	}
	return probe, nil
}

// resolveEnv returns the container's environment: envFrom first, then env,
// later names winning, as the kubelet builds it.
func resolveEnv(c corev1.Container, refs references) (map[string]string, error) {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		var data map[string]string
		var found, optional bool
		switch {
		case from.ConfigMapRef != nil:
			data, found = refs.configMaps[from.ConfigMapRef.Name]
			optional = from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional
			if !found && !optional {
				return nil, fmt.Errorf("envFrom: ConfigMap %s is not supplied", from.ConfigMapRef.Name)
			}
		case from.SecretRef != nil:
			data, found = refs.secrets[from.SecretRef.Name]
			optional = from.SecretRef.Optional != nil && *from.SecretRef.Optional
			if !found && !optional {
				return nil, fmt.Errorf("envFrom: Secret %s is not supplied", from.SecretRef.Name)
			}
		}
		for k, v := range data {
			env[from.Prefix+k] = v
		}
	}
	for _, v := range c.Env {
		value, set, err := resolveVar(v, refs)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", v.Name, err)
		}
		if set {
			env[v.Name] = value
		}
	}
	return env, nil
}

// resolveVar returns one variable's value; set is false when an optional
// reference finds nothing, in which case the variable is left out.
func resolveVar(v corev1.EnvVar, refs references) (value string, set bool, err error) {
	from := v.ValueFrom
	switch {
	case from == nil:
		return v.Value, true, nil
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		return lookup("ConfigMap", refs.configMaps, ref.Name, ref.Key, ref.Optional)
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		return lookup("Secret", refs.secrets, ref.Name, ref.Key, ref.Optional)
	default:
		return "", false, errors.New("only literal values, configMapKeyRef and secretKeyRef are resolved locally")
	}
}

func lookup(kind string, sources map[string]map[string]string, name, key string, optional *bool) (string, bool, error) {
	if value, ok := sources[name][key]; ok {
		return value, true, nil
	}
	if optional != nil && *optional {
		return "", false, nil
	}
	return "", false, fmt.Errorf("%s %s has no key %s, and the reference is not optional", kind, name, key)
}
