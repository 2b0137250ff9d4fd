package drill

import (
	"fmt"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart size in the PNG.
const (
	chartWidth  = 24 * vg.Centimeter
	chartHeight = 16 * vg.Centimeter
)

var markColor = color.RGBA{R: 200, G: 60, B: 60, A: 255}

// SaveChart draws the timeline as a PNG at path: latency p50 and p99 of
// the requests sent in each period on top, instances per function below
// (on the local runtime), both with a vertical line at every Mark.
func (r *Report) SaveChart(path string) error {
	latency, err := r.latencyPlot()
	if err != nil {
		return err
	}
	instances, err := r.instancesPlot()
	if err != nil {
		return err
	}
	// Both panels span the same time so that the marks line up.
	for _, p := range []*plot.Plot{latency, instances} {
		p.X.Min, p.X.Max = 0, max(r.Duration.Seconds(), 1)
	}
	img := vgimg.New(chartWidth, chartHeight)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2, PadY: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{{latency}, {instances}}, tiles, dc)
	latency.Draw(canvases[0][0])
	instances.Draw(canvases[1][0])

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
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Millimeter * 3
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
	if len(p50) > 0 {
		if err := plotutil.AddLinePoints(p, "p50", p50, "p99", p99); err != nil {
			return nil, err
		}
	}
	return p, r.addMarks(p, p.Y.Max, true)
}

// instancesPlot is the bottom panel: one step line per function that had
// an instance during the drill.
func (r *Report) instancesPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Y.Label.Text = "instances"
	p.X.Label.Text = "seconds"
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Millimeter * 3
	names := r.functionsShown()
	if len(names) == 0 {
		p.Title.Text = "instances: n/a"
	}
	top := 1.0
	var lines []any
	for _, name := range names {
		var xys plotter.XYs
		for _, pt := range r.Timeline {
			if n, ok := pt.Instances[name]; ok {
				xys = append(xys, plotter.XY{X: pt.At, Y: float64(n)})
				top = max(top, float64(n))
			}
		}
		lines = append(lines, name, xys)
	}
	p.Y.Min, p.Y.Max = 0, top+1
	if len(lines) > 0 {
		if err := plotutil.AddLines(p, lines...); err != nil {
			return nil, err
		}
	}
	return p, r.addMarks(p, p.Y.Max, false)
}

// addMarks draws a vertical line at every Mark, labelled in the top panel
// only.
func (r *Report) addMarks(p *plot.Plot, top float64, labelled bool) error {
	var labels plotter.XYLabels
	for _, m := range r.Marks {
		line, err := plotter.NewLine(plotter.XYs{{X: m.At, Y: 0}, {X: m.At, Y: top}})
		if err != nil {
			return err
		}
		line.Color, line.Dashes = markColor, []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(line)
		labels.XYs = append(labels.XYs, plotter.XY{X: m.At, Y: top})
		labels.Labels = append(labels.Labels, m.Label+" ")
	}
	if !labelled || len(labels.Labels) == 0 {
		return nil
	}
	l, err := plotter.NewLabels(labels)
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		// Vertical labels along their line, ending at the top, stay
		// readable when marks are close in time.
		l.TextStyle[i].Color = markColor
		l.TextStyle[i].Font.Size = vg.Points(8)
		l.TextStyle[i].Rotation = math.Pi / 2
		l.TextStyle[i].XAlign = draw.XRight
		l.TextStyle[i].YAlign = draw.YBottom
	}
	p.Add(l)
	return nil
}
