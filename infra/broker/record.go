package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/carrot-market/carrot/events"
)

// How events are stored in Kafka.
//
// The broker topic holds structured-mode records: the whole event as JSON
// in the value, so that `kcat -C -t knative-broker-default-carrot` prints
// one readable event a line, and a content-type header. A KafkaSink in
// binary mode gets Knative's binary layout instead: attributes and
// extensions in ce_ headers, datacontenttype in content-type, data in the
// value. Both layouts are read back. The record key is always the
// partitionkey extension, else the event id.
const (
	headerContentType    = "content-type"
	structuredMediaType  = "application/cloudevents+json; charset=UTF-8"
	binaryHeaderPrefix   = "ce_"
	binarySpecVersionKey = binaryHeaderPrefix + "specversion"
)

// binaryHeaders names the attributes of a binary-mode record.
var binaryHeaders = spec.WithPrefix(binaryHeaderPrefix)

// recordKey is the key that keeps every event of one item on one partition.
func recordKey(e cloudevents.Event) []byte {
	if key, ok := e.Extensions()[events.PartitionKeyExtension]; ok {
		if s, err := types.Format(key); err == nil && s != "" {
			return []byte(s)
		}
	}
	return []byte(e.ID())
}

// newRecord encodes e for topic in contentMode (ContentModeStructured or
// ContentModeBinary).
func newRecord(topic string, e cloudevents.Event, contentMode string) (*kgo.Record, error) {
	r := &kgo.Record{Topic: topic, Key: recordKey(e)}
	if contentMode == ContentModeBinary {
		if err := binding.ToMessage(&e).ReadBinary(context.Background(), (*binaryRecordWriter)(r)); err != nil {
			return nil, fmt.Errorf("encode event %s: %w", e.ID(), err)
		}
		return r, nil
	}
	value, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID(), err)
	}
	r.Value = value
	r.Headers = []kgo.RecordHeader{{Key: headerContentType, Value: []byte(structuredMediaType)}}
	return r, nil
}

// eventOf decodes a record of either layout. An error means the record
// can never be delivered.
func eventOf(r *kgo.Record) (cloudevents.Event, error) {
	var e cloudevents.Event
	if version, ok := header(r, binarySpecVersionKey); ok {
		var err error
		if e, err = binaryEventOf(r, version); err != nil {
			return e, err
		}
	} else if err := json.Unmarshal(r.Value, &e); err != nil {
		return e, fmt.Errorf("record is not a structured CloudEvent: %w", err)
	}
	return e, e.Validate()
}

func binaryEventOf(r *kgo.Record, specVersion string) (cloudevents.Event, error) {
	version := binaryHeaders.Version(specVersion)
	if version == nil {
		return cloudevents.Event{}, fmt.Errorf("unknown specversion %q", specVersion)
	}
	e := cloudevents.Event{Context: version.NewContext()}
	for _, h := range r.Headers {
		name := strings.ToLower(h.Key)
		switch {
		case name == headerContentType:
			if err := e.Context.SetDataContentType(string(h.Value)); err != nil {
				return e, err
			}
		case name != binarySpecVersionKey && strings.HasPrefix(name, binaryHeaderPrefix):
			if err := version.SetAttribute(e.Context, name, string(h.Value)); err != nil {
				return e, fmt.Errorf("header %s: %w", h.Key, err)
			}
		}
	}
	if len(r.Value) > 0 {
		e.DataEncoded = r.Value
	}
	return e, nil
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Key, key) {
			return string(h.Value), true
		}
	}
	return "", false
}

// binaryRecordWriter writes a binding.Message into a record in Knative's
// binary Kafka layout.
type binaryRecordWriter kgo.Record

func (w *binaryRecordWriter) Start(context.Context) error { return nil }
func (w *binaryRecordWriter) End(context.Context) error   { return nil }

func (w *binaryRecordWriter) SetAttribute(attribute spec.Attribute, value any) error {
	if attribute.Kind() == spec.DataContentType {
		return w.addHeader(headerContentType, value)
	}
	return w.addHeader(binaryHeaderPrefix+attribute.Name(), value)
}

func (w *binaryRecordWriter) SetExtension(name string, value any) error {
	return w.addHeader(binaryHeaderPrefix+name, value)
}

func (w *binaryRecordWriter) SetData(data io.Reader) error {
	value, err := io.ReadAll(data)
	w.Value = value
	return err
}

func (w *binaryRecordWriter) addHeader(key string, value any) error {
	if value == nil {
		return errors.New("nil value for header " + key)
	}
	s, err := types.Format(value)
	if err != nil {
		return err
	}
	w.Headers = append(w.Headers, kgo.RecordHeader{Key: key, Value: []byte(s)})
	return nil
}
