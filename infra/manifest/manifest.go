// Package manifest reads the Kubernetes manifests of knative/: files of
// multi-document YAML, each document decoded strictly into the Knative or
// Kubernetes API type its apiVersion and kind name, so that an unknown or
// misspelt field is an error. It imports no carrot package; the runtime's
// adapters (serving, broker, local) and the tests read manifests through
// it and pick the objects they run.
package manifest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"
)

// KafkaSinkAPIVersion is the group and version of eventing-kafka-broker's
// KafkaSink.
const KafkaSinkAPIVersion = "eventing.knative.dev/v1alpha1"

// KafkaSink is the shape of eventing-kafka-broker's KafkaSink, whose Go
// type lives in a module the module proxy does not serve. It is decoded
// strictly like the others, so an unknown or misspelt field still fails.
type KafkaSink struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              KafkaSinkSpec `json:"spec"`
}

// KafkaSinkSpec is the spec of a KafkaSink.
type KafkaSinkSpec struct {
	Topic             string   `json:"topic"`
	NumPartitions     *int32   `json:"numPartitions,omitempty"`
	ReplicationFactor *int16   `json:"replicationFactor,omitempty"`
	BootstrapServers  []string `json:"bootstrapServers"`
	// ContentMode is binary or structured; nil means binary.
	ContentMode *string `json:"contentMode,omitempty"`
	Auth        *struct {
		Secret *struct {
			Ref *struct {
				Name string `json:"name"`
			} `json:"ref,omitempty"`
		} `json:"secret,omitempty"`
	} `json:"auth,omitempty"`
}

// kinds are the API types documents decode into, by "apiVersion kind".
var kinds = map[string]func() any{
	"serving.knative.dev/v1 Service":     func() any { return &servingv1.Service{} },
	"eventing.knative.dev/v1 Broker":     func() any { return &eventingv1.Broker{} },
	"eventing.knative.dev/v1 Trigger":    func() any { return &eventingv1.Trigger{} },
	"sources.knative.dev/v1 PingSource":  func() any { return &sourcesv1.PingSource{} },
	"sources.knative.dev/v1 SinkBinding": func() any { return &sourcesv1.SinkBinding{} },
	KafkaSinkAPIVersion + " KafkaSink":   func() any { return &KafkaSink{} },
	"v1 ServiceAccount":                  func() any { return &corev1.ServiceAccount{} },
	"v1 ConfigMap":                       func() any { return &corev1.ConfigMap{} },
	"v1 PersistentVolumeClaim":           func() any { return &corev1.PersistentVolumeClaim{} },
	"v1 Service":                         func() any { return &corev1.Service{} },
	"apps/v1 Deployment":                 func() any { return &appsv1.Deployment{} },
	"batch/v1 Job":                       func() any { return &batchv1.Job{} },
}

// Document is one non-empty YAML document of a manifest file.
type Document struct {
	Path       string // the file it was read from
	Index      int    // its position in the file, from 1, empty documents counted
	APIVersion string
	Kind       string
	// Object points to the API type the document was decoded into
	// (*servingv1.Service, *eventingv1.Trigger, *corev1.ConfigMap,
	// *KafkaSink...), or is nil for a kind this package does not know;
	// callers skip those or refuse them.
	Object any
}

// String names the document in errors: "<path>, document <n>".
func (d Document) String() string { return fmt.Sprintf("%s, document %d", d.Path, d.Index) }

// Load reads the manifests at path: the file, or, for a folder, the .yaml
// and .yml files directly in it (not in its sub-folders), in name order.
// It fails on the first document that is not YAML, lacks apiVersion or
// kind, or does not decode strictly into its kind's type. Empty and
// comment-only documents are skipped.
func Load(path string) ([]Document, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return loadFile(path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var docs []Document
	for _, entry := range entries {
		if ext := filepath.Ext(entry.Name()); entry.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		file, err := loadFile(filepath.Join(path, entry.Name()))
		if err != nil {
			return nil, err
		}
		docs = append(docs, file...)
	}
	return docs, nil
}

func loadFile(path string) ([]Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path)
}

// Read reads the documents of one multi-document YAML stream; path names
// it in the documents and in errors.
func Read(r io.Reader, path string) ([]Document, error) {
	var docs []Document
	err := Split(r, path, func(index int, raw []byte) error {
		doc := Document{Path: path, Index: index}
		ok, err := doc.decode(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", doc, err)
		}
		if ok {
			docs = append(docs, doc)
		}
		return nil
	})
	return docs, err
}

// Split calls each with every document of a multi-document YAML stream,
// as its YAML text, numbered from 1 (empty documents are numbered and
// passed too); path names the stream in errors. It stops at the first
// error each returns, and returns it.
func Split(r io.Reader, path string, each func(index int, raw []byte) error) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for i := 1; ; i++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := each(i, raw); err != nil {
			return err
		}
	}
}

// decode fills d from raw; ok is false for an empty document.
func (d *Document) decode(raw []byte) (ok bool, err error) {
	var head map[string]any
	if err := yaml.Unmarshal(raw, &head); err != nil {
		return false, err
	}
	if len(head) == 0 {
		return false, nil
	}
	d.APIVersion, _ = head["apiVersion"].(string)
	d.Kind, _ = head["kind"].(string)
	if d.APIVersion == "" || d.Kind == "" {
		return false, errors.New("a manifest needs apiVersion and kind")
	}
	newObject, known := kinds[d.APIVersion+" "+d.Kind]
	if !known {
		return true, nil
	}
	obj := newObject()
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		return false, fmt.Errorf("%s: %w", d.Kind, err)
	}
	d.Object = obj
	return true, nil
}

// Objects returns the objects of type T among docs, in their order; for
// example Objects[*eventingv1.Trigger](docs).
func Objects[T any](docs []Document) []T {
	var out []T
	for _, d := range docs {
		if o, ok := d.Object.(T); ok {
			out = append(out, o)
		}
	}
	return out
}
