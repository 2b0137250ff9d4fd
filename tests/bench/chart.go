package main

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// writeChart draws, for every budgeted row, how much of its budget it
// uses: 1 is the limit, a bar above the red line misses.
func writeChart(rows []Row, path string) error {
	var values plotter.Values
	var names []string
	var colors []color.Color
	for _, r := range rows {
		if r.Budget == nil {
			continue
		}
		use := r.Budget.Use(r.Checked)
		if math.IsNaN(use) || math.IsInf(use, 0) {
			use = 0
		}
		values = append(values, math.Min(use, 5))
		// A use case's row is named by its use case; the route and what
		// it is compared with are in the table.
		name, _, _ := strings.Cut(strings.TrimPrefix(r.Name, "scale from zero to first 2xx: "), " (")
		names = append(names, fmt.Sprintf("%s %s", r.Section, short(name)))
		if r.Verdict() == "PASS" {
			colors = append(colors, color.RGBA{R: 46, G: 139, B: 87, A: 255})
		} else {
			colors = append(colors, color.RGBA{R: 205, G: 92, B: 92, A: 255})
		}
	}
	p := plot.New()
	p.Title.Text = "carrot: share of each budget used (1 = the limit; lower is better)"
	p.Y.Label.Text = "measured / budget"
	p.Y.Min = 0
	for i, v := range values {
		bar, err := plotter.NewBarChart(plotter.Values{v}, vg.Points(14))
		if err != nil {
			return err
		}
		bar.Color = colors[i]
		bar.LineStyle.Width = 0
		bar.XMin = float64(i)
		p.Add(bar)
	}
	limit, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 1}, {X: float64(len(values)) - 0.5, Y: 1}})
	if err != nil {
		return err
	}
	limit.Color = color.RGBA{R: 200, A: 255}
	limit.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(limit)
	p.NominalX(names...)
	// Labels hang below the axis, ending at their tick.
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	return p.Save(vg.Length(120+28*len(values)), 12*vg.Centimeter, path)
}

func short(s string) string {
	if len(s) > 24 {
		return s[:23] + "…"
	}
	return s
}
