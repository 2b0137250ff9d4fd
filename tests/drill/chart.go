package drill

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart size in the PNG; the legends have a column of their own on the
// right, so that they never cover a line.
const (
	chartWidth  = 28 * vg.Centimeter
	chartHeight = 16 * vg.Centimeter
	legendWidth = 5.5 * vg.Centimeter
)

var markColor = color.RGBA{R: 200, G: 60, B: 60, A: 255}

// SaveChart draws the timeline as a PNG at path: latency p50 and p99 of
// the requests sent in each period on top, instances per function below
// (on the local runtime) and, when a trigger had a backlog during the
// drill, the triggers' lag at the bottom; every panel has a vertical line
// at every Mark, and its legend beside it.
func (r *Report) SaveChart(path string) error {
	latency, err := r.latencyPlot()
	if err != nil {
		return err
	}
	instances, err := r.instancesPlot()
	if err != nil {
		return err
	}
	panels := []*plot.Plot{latency, instances}
	height := chartHeight
	if r.hadBacklog() {
		backlog, err := r.backlogPlot()
		if err != nil {
			return err
		}
		panels = append(panels, backlog)
		height += chartHeight / 2
	}
	// Every panel spans the same time so that the marks line up.
	rows := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		p.X.Min, p.X.Max = 0, max(r.Duration.Seconds(), 1)
		rows[i] = []*plot.Plot{p}
	}
	img := vgimg.New(chartWidth, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2, PadY: vg.Millimeter * 4}
	canvases := plot.Align(rows, tiles, draw.Crop(dc, 0, -legendWidth, 0, 0))
	for i, p := range panels {
		legend := p.Legend
		p.Legend = plot.NewLegend()
		c := canvases[i][0]
		p.Draw(c)
		legendBeside(legend, dc, c)
	}
	return writePNG(img, path)
}

// saveWithLegend draws p as a PNG at path with its legend in a column of
// its own on the right, where it hides no bar.
func saveWithLegend(p *plot.Plot, width, height vg.Length, path string) error {
	img := vgimg.New(width, height)
	dc := draw.New(img)
	pad := 2 * vg.Millimeter
	c := draw.Crop(dc, pad, -legendWidth, pad, -pad)
	legend := p.Legend
	p.Legend = plot.NewLegend()
	p.Draw(c)
	legendBeside(legend, dc, c)
	return writePNG(img, path)
}

// legendBeside draws legend in the column of dc right of the plot's canvas
// c, at its top.
func legendBeside(legend plot.Legend, dc, c draw.Canvas) {
	legend.Top, legend.Left = true, true
	legend.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: c.Max.X + 3*vg.Millimeter, Y: c.Min.Y},
		Max: vg.Point{X: dc.Max.X, Y: c.Max.Y - 6*vg.Millimeter},
	}})
}

// writePNG writes img to path.
func writePNG(img *vgimg.Canvas, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// latencyPlot is the top panel.
func (r *Report) latencyPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %s", r.Name, r.Title)
	p.Y.Label.Text = "latency (ms)"
	p.X.Label.Text = "seconds"
	var p50, p99 plotter.XYs
	for _, pt := range r.Timeline {
		if pt.Requests > 0 {
			p50 = append(p50, plotter.XY{X: pt.At, Y: pt.P50})
			p99 = append(p99, plotter.XY{X: pt.At, Y: pt.P99})
		}
	}
	top := 1.0
	for _, xy := range p99 {
		top = max(top, xy.Y)
	}
	p.Y.Min, p.Y.Max = 0, top*1.15
	p.Y.Tick.Marker = plainTicks{}
	if len(p50) > 0 {
		if err := plotutil.AddLinePoints(p, "p50", p50, "p99", p99); err != nil {
			return nil, err
		}
	}
	return p, r.addMarks(p, p.Y.Max, true)
}

// instancesPlot is the bottom panel: one step line per function that had
// an instance during the drill. Functions often have the same count, so
// each line is nudged up or down by a small fixed amount: every line stays
// visible and the counts still read on the integer ticks.
func (r *Report) instancesPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Y.Label.Text = "instances"
	p.X.Label.Text = "seconds"
	names := r.functionsShown()
	if len(names) == 0 {
		p.Title.Text = "instances: n/a"
	}
	top := 1.0
	for _, pt := range r.Timeline {
		for _, name := range names {
			top = max(top, float64(pt.Instances[name]))
		}
	}
	p.Y.Min, p.Y.Max = 0, top+1
	if len(names) > 1 {
		p.Y.Label.Text = "instances (lines nudged apart)"
	}
	nudge := (top + 1) * 0.012
	for i, name := range names {
		offset := (float64(i) - float64(len(names)-1)/2) * nudge
		var xys plotter.XYs
		for _, pt := range r.Timeline {
			if n, ok := pt.Instances[name]; ok {
				xys = append(xys, plotter.XY{X: pt.At, Y: float64(n) + offset})
			}
		}
		line, err := stepLine(xys, i)
		if err != nil {
			return nil, err
		}
		p.Add(line)
		p.Legend.Add(name, line)
	}
	return p, r.addMarks(p, p.Y.Max, false)
}

// stepLine is the i-th series of a panel of counts: a step line in the
// i-th colour and dashes of plotutil's palettes.
func stepLine(xys plotter.XYs, i int) (*plotter.Line, error) {
	line, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	line.StepStyle = plotter.PostStep
	line.Color = plotutil.Color(i)
	line.Dashes = plotutil.Dashes(i)
	line.Width = vg.Points(1.5)
	return line, nil
}

// hadBacklog reports whether some trigger lagged behind the broker topic
// at some point of the timeline.
func (r *Report) hadBacklog() bool {
	for _, pt := range r.Timeline {
		for _, lag := range pt.Lag {
			if lag > 0 {
				return true
			}
		}
	}
	return false
}

// backlogPlot is the bottom panel of a drill during which events waited:
// one step line per trigger, its lag (records of the broker topic its
// consumer group has not committed) over time. A gap is a time when Kafka
// could not tell, such as while it was down; the events then wait in the
// functions' outboxes, which /_local/status does not count.
func (r *Report) backlogPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Y.Label.Text = "trigger lag (records)"
	p.X.Label.Text = "seconds"
	seen := map[string]bool{}
	top := 1.0
	for _, pt := range r.Timeline {
		for name, lag := range pt.Lag {
			seen[name] = true
			top = max(top, float64(lag))
		}
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	p.Y.Min, p.Y.Max = 0, top*1.15
	p.Y.Tick.Marker = plainTicks{}
	for i, name := range names {
		var runs []plotter.XYs // one per stretch without a gap
		var cur plotter.XYs
		for _, pt := range r.Timeline {
			lag, ok := pt.Lag[name]
			if !ok {
				if len(cur) > 0 {
					runs, cur = append(runs, cur), nil
				}
				continue
			}
			cur = append(cur, plotter.XY{X: pt.At, Y: float64(lag)})
		}
		if len(cur) > 0 {
			runs = append(runs, cur)
		}
		for j, xys := range runs {
			line, err := stepLine(xys, i)
			if err != nil {
				return nil, err
			}
			p.Add(line)
			if j == 0 {
				p.Legend.Add(name, line)
			}
		}
	}
	return p, r.addMarks(p, p.Y.Max, false)
}

// addMarks draws a vertical line at every Mark, labelled in the top panel
// only.
func (r *Report) addMarks(p *plot.Plot, top float64, labelled bool) error {
	for _, m := range r.Marks {
		line, err := plotter.NewLine(plotter.XYs{{X: m.At, Y: 0}, {X: m.At, Y: top}})
		if err != nil {
			return err
		}
		line.Color, line.Dashes = markColor, []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(line)
	}
	if !labelled || len(r.Marks) == 0 {
		return nil
	}
	// Labels are vertical, along their line and ending at its top. Marks
	// closer than near make a group: a group of two gets one label on
	// each side of the lines, a larger one a single label that names its
	// first and last marks (the report's JSON has them all).
	near := max(r.Duration.Seconds(), 1) / 40
	var labels plotter.XYLabels
	var right []bool
	for i := 0; i < len(r.Marks); {
		j := i + 1
		for j < len(r.Marks) && r.Marks[j].At-r.Marks[j-1].At < near {
			j++
		}
		switch group := r.Marks[i:j]; len(group) {
		case 1, 2:
			for k, m := range group {
				labels.XYs = append(labels.XYs, plotter.XY{X: m.At, Y: top})
				labels.Labels = append(labels.Labels, shortLabel(m.Label)+" ")
				right = append(right, k == 1)
			}
		default:
			last := group[len(group)-1]
			labels.XYs = append(labels.XYs, plotter.XY{X: group[0].At, Y: top})
			labels.Labels = append(labels.Labels, fmt.Sprintf("%s … %s ", shortLabel(group[0].Label), shortLabel(last.Label)))
			right = append(right, false)
		}
		i = j
	}
	l, err := plotter.NewLabels(labels)
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Color = markColor
		l.TextStyle[i].Font.Size = vg.Points(10)
		l.TextStyle[i].Rotation = math.Pi / 2
		l.TextStyle[i].XAlign = draw.XRight
		l.TextStyle[i].YAlign = draw.YBottom
		if right[i] {
			l.TextStyle[i].YAlign = draw.YTop
		}
	}
	p.Add(l)
	return nil
}

// shortLabel cuts a mark's label to 20 characters: a label longer than
// the panel is high would leave the panel no room at all, which gonum
// does not survive.
func shortLabel(label string) string {
	const most = 20
	if r := []rune(label); len(r) > most {
		return string(r[:most-1]) + "…"
	}
	return label
}

// plainTicks are gonum's default ticks labelled without trailing zeros:
// 250, not 250.00.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}
