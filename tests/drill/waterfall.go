package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/carrot-market/carrot/tests/system"
)

// JaegerQueryURL is where `make run` serves Jaeger's query API
// (infra/jaeger/with-jaeger.sh).
const JaegerQueryURL = "http://127.0.0.1:16686"

// jaegerTrace is a trace as Jaeger's query API answers GET
// /api/traces/{id} and GET /api/traces?service=...: times in microseconds.
type jaegerTrace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		TraceID       string `json:"traceID"`
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		StartTime int64 `json:"startTime"`
		Duration  int64 `json:"duration"`
		Tags      []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"tags"`
		ProcessID string `json:"processID"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// spans turns a Jaeger trace into the spans the tests read.
func (jt jaegerTrace) spans() system.Trace {
	var tr system.Trace
	for _, s := range jt.Spans {
		span := system.Span{TraceID: s.TraceID, SpanID: s.SpanID, Name: s.OperationName,
			Service:    jt.Processes[s.ProcessID].ServiceName,
			Start:      time.UnixMicro(s.StartTime),
			End:        time.UnixMicro(s.StartTime + s.Duration),
			Attributes: map[string]string{}}
		for _, ref := range s.References {
			if ref.RefType == "CHILD_OF" {
				span.ParentID = ref.SpanID
			}
		}
		for _, tag := range s.Tags {
			span.Attributes[tag.Key] = fmt.Sprint(tag.Value)
		}
		span.Kind = span.Attributes["span.kind"]
		span.Error = span.Attributes["error"] == "true" || span.Attributes["otel.status_code"] == "ERROR"
		tr = append(tr, span)
	}
	return tr
}

// jaegerGet reads one answer of Jaeger's query API at base.
func jaegerGet(ctx context.Context, base, path string, query url.Values) ([]jaegerTrace, error) {
	u := strings.TrimSuffix(base, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jaeger: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jaeger: GET %s answered %s", u, resp.Status)
	}
	var out struct {
		Data []jaegerTrace `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("jaeger: GET %s: %w", u, err)
	}
	return out.Data, nil
}

// FetchTrace reads the trace traceID from Jaeger's query API at base.
func FetchTrace(ctx context.Context, base, traceID string) (system.Trace, error) {
	traces, err := jaegerGet(ctx, base, "/api/traces/"+traceID, nil)
	if err != nil {
		return nil, err
	}
	if len(traces) == 0 {
		return nil, fmt.Errorf("jaeger: no trace %s", traceID)
	}
	return traces[0].spans(), nil
}

// FindTrace returns the id of the latest trace in which service recorded
// the operation with the attribute key=value, searching the last hour.
func FindTrace(ctx context.Context, base, service, operation, key, value string) (string, error) {
	tags, err := json.Marshal(map[string]string{key: value})
	if err != nil {
		return "", err
	}
	now := time.Now()
	traces, err := jaegerGet(ctx, base, "/api/traces", url.Values{
		"service": {service}, "operation": {operation}, "tags": {string(tags)}, "limit": {"1"},
		"start": {fmt.Sprint(now.Add(-time.Hour).UnixMicro())}, "end": {fmt.Sprint(now.UnixMicro())},
	})
	if err != nil {
		return "", err
	}
	if len(traces) == 0 {
		return "", fmt.Errorf("jaeger: no trace where %s did %q with %s=%s", service, operation, key, value)
	}
	return traces[0].TraceID, nil
}

// waterfallRow is one span in the order a waterfall draws it.
type waterfallRow struct {
	span  system.Span
	depth int
}

// waterfallRows orders tr as a tree: every span under its parent, siblings
// by start; a span whose parent is not in tr is a root.
func waterfallRows(tr system.Trace) []waterfallRow {
	ids := map[string]bool{}
	for _, s := range tr {
		ids[s.SpanID] = true
	}
	children := map[string][]system.Span{}
	for _, s := range tr {
		parent := s.ParentID
		if !ids[parent] {
			parent = ""
		}
		children[parent] = append(children[parent], s)
	}
	var rows []waterfallRow
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		kids := children[parent]
		slices.SortFunc(kids, func(a, b system.Span) int { return a.Start.Compare(b.Start) })
		for _, s := range kids {
			rows = append(rows, waterfallRow{span: s, depth: depth})
			walk(s.SpanID, depth+1)
		}
	}
	walk("", 0)
	return rows
}

// errorColor marks failed spans; every service has a colour of its own.
var errorColor = color.RGBA{R: 220, G: 30, B: 30, A: 255}

// SaveWaterfall draws tr as a PNG at path: one bar per span on a time axis
// in milliseconds from the trace's start, under its parent, its label
// marked with a "›" per level below the root (labels are right-aligned, so
// spaces would not show), coloured by service; a failed span has a red
// cross at its end and a retried delivery attempt the label "retry".
func SaveWaterfall(tr system.Trace, title, path string) error {
	rows := waterfallRows(tr)
	if len(rows) == 0 {
		return fmt.Errorf("waterfall: the trace has no spans")
	}
	start := rows[0].span.Start
	for _, r := range rows {
		start = minTime(start, r.span.Start)
	}
	ms := func(t time.Time) float64 { return float64(t.Sub(start).Microseconds()) / 1000 }

	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "milliseconds from the trace's start"
	p.Y.Min, p.Y.Max = -0.5, float64(len(rows))-0.5
	services := map[string]color.Color{}
	var serviceOrder []string
	ticks := make([]plot.Tick, len(rows))
	var failed, retries plotter.XYs
	var retryLabels []string
	end := 1.0
	for i, r := range rows {
		y := float64(len(rows) - 1 - i)
		c, ok := services[r.span.Service]
		if !ok {
			c = plotutil.Color(len(services))
			services[r.span.Service] = c
			serviceOrder = append(serviceOrder, r.span.Service)
		}
		x0, x1 := ms(r.span.Start), ms(r.span.End)
		end = max(end, x1)
		bar, err := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: max(x1, x0+0.05), Y: y}})
		if err != nil {
			return err
		}
		bar.Color, bar.Width = c, 7
		p.Add(bar)
		ticks[i] = plot.Tick{Value: y, Label: strings.Repeat("› ", r.depth) + r.span.Service + ": " + r.span.Name}
		if r.span.Error {
			failed = append(failed, plotter.XY{X: x1, Y: y})
		}
		if r.span.Attributes["carrot.delivery.retry"] == "true" {
			retries = append(retries, plotter.XY{X: x1, Y: y})
			retryLabels = append(retryLabels, " retry")
		}
	}
	p.X.Min, p.X.Max = 0, end*1.08
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Tick.Label.Font.Size = vg.Points(8)
	if len(failed) > 0 {
		s, err := plotter.NewScatter(failed)
		if err != nil {
			return err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: errorColor, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}
		p.Add(s)
		p.Legend.Add("error", s)
	}
	if len(retries) > 0 {
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: retries, Labels: retryLabels})
		if err != nil {
			return err
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].Color = errorColor
		}
		p.Add(labels)
	}
	for _, name := range serviceOrder {
		swatch, err := plotter.NewLine(plotter.XYs{{}, {}})
		if err != nil {
			return err
		}
		swatch.Color, swatch.Width = services[name], 7
		p.Legend.Add(name, swatch)
	}
	height := vg.Length(len(rows))*5*vg.Millimeter + 4*vg.Centimeter
	return saveWithLegend(p, chartWidth+legendWidth, height, path)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
