package controlplane

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// NotRun are the programs of Knative's config/core the harness does not
// run, each with the reason: they serve or scale requests, so they need
// pods and a network, which this control plane has not.
var NotRun = map[string]string{
	"knative.dev/serving/cmd/activator":                  "serving's data plane: buffers requests for scaled-to-zero revisions",
	"knative.dev/serving/cmd/autoscaler":                 "scales revisions by their pods' metrics; no pod runs, so no PodAutoscaler becomes Ready",
	"knative.dev/eventing/cmd/jobsink":                   "eventing's JobSink data plane; carrot has no JobSink",
	"knative.dev/eventing/cmd/mtping":                    "sends the PingSources' events, from a pod (scaled to zero until a PingSource is Ready)",
	"knative.dev/eventing/cmd/requestreply":              "eventing's RequestReply data plane; carrot has none",
	"knative.dev/eventing/cmd/apiserver_receive_adapter": "ApiServerSource adapter; carrot has none",
}

// program is one Knative Deployment of config/core, run as a process.
type program struct {
	name      string // e.g. serving-webhook
	namespace string
	env       []corev1.EnvVar
	args      []string
	bin       string
	webhook   string // the Service the webhook is reached at, for a webhook
	port      int    // its port on 127.0.0.1, for a webhook
}

// installKnative applies Knative's config/core (and the CRDs of the
// modules it depends on), starts its webhooks, registers them, and
// starts its controllers.
//
// The webhooks are registered through their Service, as in a cluster,
// because Knative's webhook reconcilers refuse a registration by URL
// ("missing service reference"); the harness makes that Service of type
// ExternalName, naming 127.0.0.1, and sets the registration's port to the
// webhook's port there. The API server then calls
// https://127.0.0.1:<port> and checks the certificate against the CA
// Knative generated and wrote into the registration, for the name
// <service>.<namespace>.svc, as it does in a cluster.
func (cp *ControlPlane) installKnative(ctx context.Context, bins Binaries) error {
	var objs []Object
	for _, dir := range []string{
		filepath.Join(cp.knative[knativeNetworking], "config"),
		filepath.Join(cp.knative[knativeCaching], "config"),
		filepath.Join(cp.knative[knativeServing], "config", "core"),
		filepath.Join(cp.knative[knativeEventing], "config", "core"),
	} {
		tree, err := readTree(dir)
		if err != nil {
			return err
		}
		objs = append(objs, tree...)
	}
	binaries := map[string]string{
		"knative.dev/serving/cmd/controller":  bins.ServingController,
		"knative.dev/serving/cmd/webhook":     bins.ServingWebhook,
		"knative.dev/eventing/cmd/controller": bins.EventingCtrl,
		"knative.dev/eventing/cmd/webhook":    bins.EventingWebhook,
	}

	var programs []*program
	webhookPorts := map[string]int{} // by "<namespace>/<service>"
	for _, obj := range objs {
		if obj.GetKind() != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &d); err != nil {
			return fmt.Errorf("%s: %w", obj.Source, err)
		}
		c := d.Spec.Template.Spec.Containers[0]
		image := strings.TrimPrefix(c.Image, "ko://")
		bin, run := binaries[image]
		if !run {
			if _, named := NotRun[image]; !named {
				return fmt.Errorf("%s: Knative's %s is neither run nor named in NotRun", obj.Source, image)
			}
			continue
		}
		p := &program{
			name:      strings.TrimPrefix(d.Namespace, "knative-") + "-" + filepath.Base(image),
			namespace: d.Namespace,
			env:       c.Env,
			args:      c.Args,
			bin:       bin,
		}
		for _, e := range c.Env {
			if e.Name == "WEBHOOK_NAME" {
				p.webhook = e.Value
			}
		}
		if p.webhook != "" {
			port, err := freePort()
			if err != nil {
				return err
			}
			p.port = port
			webhookPorts[p.namespace+"/"+p.webhook] = port
		}
		programs = append(programs, p)
	}

	var first, rest, registrations []Object
	for _, obj := range objs {
		switch obj.GetKind() {
		case "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget":
			continue
		case "Namespace", "CustomResourceDefinition":
			if err := setConversionPort(&obj, webhookPorts); err != nil {
				return err
			}
			first = append(first, obj)
		case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
			if err := setWebhookPorts(&obj, webhookPorts); err != nil {
				return err
			}
			registrations = append(registrations, obj)
		case "Service":
			if _, ok := webhookPorts[obj.GetNamespace()+"/"+obj.GetName()]; ok {
				obj = externalName(obj)
			}
			rest = append(rest, obj)
		default:
			rest = append(rest, obj)
		}
	}
	if err := cp.applyAll(ctx, first); err != nil {
		return err
	}
	if err := cp.waitEstablished(ctx, first); err != nil {
		return err
	}
	if err := cp.applyAll(ctx, rest); err != nil {
		return err
	}

	var started []*process
	for _, p := range programs {
		if p.webhook == "" {
			continue
		}
		proc, err := cp.run(ctx, p)
		if err != nil {
			return err
		}
		started = append(started, proc)
	}
	if err := cp.applyAll(ctx, registrations); err != nil {
		return err
	}
	if err := waitFor("Knative's webhooks to register", 3*time.Minute, started, func() error {
		return cp.registered(ctx, registrations)
	}); err != nil {
		return err
	}
	for _, p := range programs {
		if p.webhook != "" {
			continue
		}
		proc, err := cp.run(ctx, p)
		if err != nil {
			return err
		}
		started = append(started, proc)
	}
	// A controller that cannot sync its informers (a CRD missing) exits
	// within seconds; give them the time to show it.
	return waitFor("Knative's controllers to start", time.Minute, started, func() error {
		return cp.leading(ctx, programs)
	})
}

// applyAll applies objs in order, each into its own namespace.
func (cp *ControlPlane) applyAll(ctx context.Context, objs []Object) error {
	for _, obj := range objs {
		if _, err := cp.Apply(ctx, obj, ""); err != nil {
			return err
		}
	}
	return nil
}

var crdKind = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// waitEstablished waits until the API server serves every CRD of objs.
func (cp *ControlPlane) waitEstablished(ctx context.Context, objs []Object) error {
	return waitFor("CRDs to be established", time.Minute, cp.procs, func() error {
		for _, obj := range objs {
			if obj.GetKind() != "CustomResourceDefinition" {
				continue
			}
			crd, err := cp.Get(ctx, crdKind, "", obj.GetName())
			if err != nil {
				return err
			}
			if !hasCondition(crd, "Established") {
				return fmt.Errorf("CRD %s is not established", obj.GetName())
			}
		}
		cp.mapper.Reset()
		return nil
	})
}

// registered reports an error until Knative has written its CA into
// every webhook registration.
func (cp *ControlPlane) registered(ctx context.Context, registrations []Object) error {
	for _, reg := range registrations {
		got, err := cp.Get(ctx, reg.GroupVersionKind(), "", reg.GetName())
		if err != nil {
			return err
		}
		hooks, _, _ := unstructured.NestedSlice(got.Object, "webhooks")
		for _, h := range hooks {
			ca, _, _ := unstructured.NestedString(h.(map[string]any), "clientConfig", "caBundle")
			if ca == "" {
				return fmt.Errorf("webhook registration %s has no CA yet", reg.GetName())
			}
		}
	}
	return nil
}

// leading reports an error until each controller holds a leader lease,
// which it takes once its informers have synced. Knative names the
// leases after the component, "controller" for both controllers, and
// each namespace has one controller.
func (cp *ControlPlane) leading(ctx context.Context, programs []*program) error {
	leases := schema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"}
	for _, p := range programs {
		if p.webhook != "" {
			continue
		}
		ri, err := cp.Resource(leases, p.namespace)
		if err != nil {
			return err
		}
		list, err := ri.List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		held := false
		for _, l := range list.Items {
			holder, _, _ := unstructured.NestedString(l.Object, "spec", "holderIdentity")
			held = held || (strings.HasPrefix(l.GetName(), "controller.") && holder != "")
		}
		if !held {
			return fmt.Errorf("%s holds no lease yet", p.name)
		}
	}
	return nil
}

// run starts p with its Deployment's environment: plain values as they
// are, the pod's name and namespace from the Deployment, ConfigMap keys
// read from the cluster; plus the kubeconfig, and free loopback ports.
func (cp *ControlPlane) run(ctx context.Context, p *program) (*process, error) {
	env := map[string]string{
		"KUBECONFIG":     cp.Kubeconfig,
		"PROFILING_PORT": "0",
	}
	configMaps := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	for _, e := range p.env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = p.name
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = p.namespace
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, err := cp.Get(ctx, configMaps, p.namespace, ref.Name)
			if apierrors.IsNotFound(err) {
				// Knative's release makes a few ConfigMaps (the images of
				// EventTransform and IntegrationSource, which carrot does
				// not use) that its module does not hold.
				cp.logf("controlplane: %s runs without %s: ConfigMap %s is not in Knative's module", p.name, e.Name, ref.Name)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s's %s: %w", p.name, e.Name, err)
			}
			env[e.Name], _, _ = unstructured.NestedString(cm.Object, "data", ref.Key)
		}
	}
	if p.webhook != "" {
		env["WEBHOOK_PORT"] = strconv.Itoa(p.port)
	}
	return cp.start(p.name, p.bin, p.args, envList(env))
}

// externalName turns a webhook's Service into one of type ExternalName
// naming 127.0.0.1, where the API server's service resolver sends
// webhook calls.
func externalName(obj Object) Object {
	svc := map[string]any{
		"apiVersion": "v1",
		"kind":       "Service",
		"metadata": map[string]any{
			"name":      obj.GetName(),
			"namespace": obj.GetNamespace(),
			"labels":    toAny(obj.GetLabels()),
		},
		"spec": map[string]any{"type": "ExternalName", "externalName": "127.0.0.1"},
	}
	u := &unstructured.Unstructured{Object: svc}
	js, _ := u.MarshalJSON()
	return Object{Source: obj.Source + " (as ExternalName)", JSON: js, Unstructured: u}
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// setWebhookPorts sets the port of every webhook of a registration to its
// webhook's loopback port.
func setWebhookPorts(obj *Object, ports map[string]int) error {
	hooks, _, err := unstructured.NestedSlice(obj.Object, "webhooks")
	if err != nil {
		return err
	}
	for _, h := range hooks {
		svc, ok, _ := unstructured.NestedMap(h.(map[string]any), "clientConfig", "service")
		if !ok {
			return fmt.Errorf("%s: a webhook without a service", obj.Source)
		}
		port, ok := ports[fmt.Sprint(svc["namespace"], "/", svc["name"])]
		if !ok {
			return fmt.Errorf("%s: webhook service %v/%v is run by no program", obj.Source, svc["namespace"], svc["name"])
		}
		if err := unstructured.SetNestedField(h.(map[string]any), int64(port), "clientConfig", "service", "port"); err != nil {
			return err
		}
	}
	if err := unstructured.SetNestedSlice(obj.Object, hooks, "webhooks"); err != nil {
		return err
	}
	return obj.resync()
}

// setConversionPort sets the port of a CRD's conversion webhook, if any.
func setConversionPort(obj *Object, ports map[string]int) error {
	svc, ok, _ := unstructured.NestedMap(obj.Object, "spec", "conversion", "webhook", "clientConfig", "service")
	if !ok {
		return nil
	}
	port, ok := ports[fmt.Sprint(svc["namespace"], "/", svc["name"])]
	if !ok {
		return fmt.Errorf("%s: conversion webhook %v/%v is run by no program", obj.Source, svc["namespace"], svc["name"])
	}
	if err := unstructured.SetNestedField(obj.Object, int64(port), "spec", "conversion", "webhook", "clientConfig", "service", "port"); err != nil {
		return err
	}
	return obj.resync()
}

// resync writes the decoded object back into its JSON, after a change the
// harness made.
func (o *Object) resync() error {
	js, err := o.MarshalJSON()
	if err != nil {
		return err
	}
	o.JSON = js
	return nil
}

// hasCondition reports whether obj's status has the condition typ True.
func hasCondition(obj *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ && m["status"] == "True" {
			return true
		}
	}
	return false
}
