package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/carrot-market/carrot/infra/manifest"
)

// FieldManager is the field manager of everything the harness applies.
const FieldManager = "carrot-controlplane"

// Object is one document of a manifest: its JSON as the file spells it
// (sent as is, so the API server sees every field the file has) and the
// same decoded.
type Object struct {
	Source string // "<file>, document <n>"
	JSON   []byte
	*unstructured.Unstructured
}

// ReadObjects reads the documents of the YAML file at path, skipping
// empty ones.
func ReadObjects(path string) ([]Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeObjects(bytes.NewReader(data), path)
}

// DecodeObjects reads the documents of a YAML stream, skipping empty ones;
// name names it in Object.Source. Unlike manifest.Read it keeps fields no
// type knows: the API server is to judge them.
func DecodeObjects(r io.Reader, name string) ([]Object, error) {
	var objs []Object
	err := manifest.Split(r, name, func(index int, raw []byte) error {
		source := fmt.Sprintf("%s, document %d", name, index)
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		if string(js) == "null" || string(js) == "{}" {
			return nil
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		objs = append(objs, Object{Source: source, JSON: js, Unstructured: u})
		return nil
	})
	return objs, err
}

// readTree reads every .yaml file under dir, in name order.
func readTree(dir string) ([]Object, error) {
	var objs []Object
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		file, err := ReadObjects(path)
		objs = append(objs, file...)
		return err
	})
	return objs, err
}

// Applied is what the API server answered to one server-side apply.
type Applied struct {
	Object   *unstructured.Unstructured // as stored, nil on error
	Warnings []string                   // every warning header of the answer
}

// Apply applies obj by server-side apply with strict field validation
// (an unknown or duplicated field is an error, as `kubectl apply
// --server-side --validate=strict` makes it), into namespace when the
// object is namespaced and names none. Admission webhooks run as on any
// apply; their warnings come back in Applied.
func (cp *ControlPlane) Apply(ctx context.Context, obj Object, namespace string) (Applied, error) {
	res, namespaced, err := cp.resource(obj.GroupVersionKind())
	if err != nil {
		return Applied{}, fmt.Errorf("%s: %w", obj.Source, err)
	}
	warnings := &warningRecorder{}
	cfg := rest.CopyConfig(cp.Config)
	cfg.WarningHandler = warnings
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return Applied{}, err
	}
	var ri dynamic.ResourceInterface = client.Resource(res)
	if namespaced {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = namespace
		}
		ri = client.Resource(res).Namespace(ns)
	}
	force := true
	out, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, obj.JSON, metav1.PatchOptions{
		FieldManager:    FieldManager,
		Force:           &force,
		FieldValidation: metav1.FieldValidationStrict,
	})
	if err != nil {
		return Applied{Warnings: warnings.list()}, fmt.Errorf("%s: %s %s: %w", obj.Source, obj.GetKind(), obj.GetName(), err)
	}
	return Applied{Object: out, Warnings: warnings.list()}, nil
}

// Get reads one object of the given kind.
func (cp *ControlPlane) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	ri, err := cp.Resource(gvk, namespace)
	if err != nil {
		return nil, err
	}
	return ri.Get(ctx, name, metav1.GetOptions{})
}

// Resource returns the dynamic client of a kind, in namespace when the
// kind is namespaced.
func (cp *ControlPlane) Resource(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
	res, namespaced, err := cp.resource(gvk)
	if err != nil {
		return nil, err
	}
	client, err := dynamic.NewForConfig(cp.Config)
	if err != nil {
		return nil, err
	}
	if namespaced {
		return client.Resource(res).Namespace(namespace), nil
	}
	return client.Resource(res), nil
}

// newMapper maps kinds to resources through the API server's discovery.
func newMapper(cfg *rest.Config) (*restmapper.DeferredDiscoveryRESTMapper, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), nil
}

// resource maps a kind to its resource through discovery, reading
// discovery again once when the kind is unknown (a CRD just made).
func (cp *ControlPlane) resource(gvk schema.GroupVersionKind) (schema.GroupVersionResource, bool, error) {
	mapper := cp.mapper
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		mapper.Reset()
		m, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	return m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// warningRecorder keeps the warnings of the answers to one client.
type warningRecorder struct {
	mu       sync.Mutex
	warnings []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

func (w *warningRecorder) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.warnings...)
}
