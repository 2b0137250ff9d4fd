package system

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one span as the tests and drills read it back, from a
// SpanReceiver or from Jaeger's query API (tests/drill).
type Span struct {
	TraceID, SpanID, ParentID string // lowercase hex; ParentID "" for a root
	Service                   string // the process's service.name
	Name                      string
	Kind                      string // server, client, producer, consumer or internal
	Start, End                time.Time
	Error                     bool // its status is an error
	Attributes                map[string]string
}

// Trace is the spans of one trace, in no particular order.
type Trace []Span

// Named returns the spans of service whose name starts with prefix.
func (tr Trace) Named(service, prefix string) Trace {
	var out Trace
	for _, s := range tr {
		if s.Service == service && strings.HasPrefix(s.Name, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// Children returns the spans whose parent is s.
func (tr Trace) Children(s Span) Trace {
	var out Trace
	for _, c := range tr {
		if c.ParentID == s.SpanID {
			out = append(out, c)
		}
	}
	return out
}

// Descends reports whether child is below ancestor in the trace: its
// parent, its parent's parent, and so on.
func (tr Trace) Descends(child, ancestor Span) bool {
	byID := map[string]Span{}
	for _, s := range tr {
		byID[s.SpanID] = s
	}
	for seen := 0; child.ParentID != "" && seen < len(tr); seen++ {
		if child.ParentID == ancestor.SpanID {
			return true
		}
		parent, ok := byID[child.ParentID]
		if !ok {
			return false
		}
		child = parent
	}
	return false
}

// SpanReceiver is an OTLP/HTTP endpoint that keeps every span it is sent,
// in place of a collector: point OTEL_EXPORTER_OTLP_ENDPOINT at Endpoint.
// It takes protobuf, plain or gzipped, on POST /v1/traces.
type SpanReceiver struct {
	srv *http.Server
	ln  net.Listener

	mu    sync.Mutex
	spans []Span
}

// StartSpanReceiver listens on a free port of 127.0.0.1.
func StartSpanReceiver() (*SpanReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &SpanReceiver{ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.export)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Endpoint is the base URL for OTEL_EXPORTER_OTLP_ENDPOINT.
func (r *SpanReceiver) Endpoint() string { return "http://" + r.ln.Addr().String() }

// Close stops listening.
func (r *SpanReceiver) Close() { _ = r.srv.Close() }

// Trace returns the spans of the trace traceID received so far.
func (r *SpanReceiver) Trace(traceID string) Trace {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out Trace
	for _, s := range r.spans {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// Count is how many spans arrived in all.
func (r *SpanReceiver) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.spans)
}

func (r *SpanReceiver) export(w http.ResponseWriter, req *http.Request) {
	body := io.Reader(req.Body)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	var in coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(raw, &in)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var spans []Span
	for _, rs := range in.GetResourceSpans() {
		service := attributes(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				spans = append(spans, spanOf(service, s))
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, spans...)
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func spanOf(service string, s *tracepb.Span) Span {
	kind := strings.ToLower(strings.TrimPrefix(s.GetKind().String(), "SPAN_KIND_"))
	return Span{
		TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
		ParentID: hex.EncodeToString(s.GetParentSpanId()),
		Service:  service, Name: s.GetName(), Kind: kind,
		Start:      time.Unix(0, int64(s.GetStartTimeUnixNano())),
		End:        time.Unix(0, int64(s.GetEndTimeUnixNano())),
		Error:      s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
		Attributes: attributes(s.GetAttributes()),
	}
}

// attributes renders OTLP attributes as text: strings as they are, other
// values in Go's default format.
func attributes(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out[kv.GetKey()] = v.GetStringValue()
		case *commonpb.AnyValue_IntValue:
			out[kv.GetKey()] = fmt.Sprint(v.GetIntValue())
		case *commonpb.AnyValue_BoolValue:
			out[kv.GetKey()] = fmt.Sprint(v.GetBoolValue())
		case *commonpb.AnyValue_DoubleValue:
			out[kv.GetKey()] = fmt.Sprint(v.GetDoubleValue())
		}
	}
	return out
}

// SortByStart orders spans by their start.
func (tr Trace) SortByStart() {
	slices.SortFunc(tr, func(a, b Span) int { return a.Start.Compare(b.Start) })
}
