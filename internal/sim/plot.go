package sim

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// plotSeries draws placed and running allocations over time to a PNG.
func plotSeries(path string, cfg *Config, samples []Sample) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("orch sim: %d allocations (%d jobs × %d) on %d nodes, %d server(s)",
		cfg.Allocs(), cfg.Jobs, cfg.Count, cfg.Nodes, cfg.Servers)
	p.X.Label.Text = "seconds since the nodes began registering"
	p.Y.Label.Text = "allocations"
	p.Legend.Top, p.Legend.Left = true, true
	series := []struct {
		name  string
		color color.Color
		value func(Sample) float64
	}{
		{"placed", color.RGBA{R: 31, G: 119, B: 180, A: 255}, func(s Sample) float64 { return float64(s.Placed) }},
		{"running", color.RGBA{R: 44, G: 160, B: 44, A: 255}, func(s Sample) float64 { return float64(s.Running) }},
	}
	for _, s := range series {
		pts := make(plotter.XYs, len(samples))
		for i, smp := range samples {
			pts[i].X, pts[i].Y = smp.At.Seconds(), s.value(smp)
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plotting %s: %w", s.name, err)
		}
		line.Color = s.color
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(s.name, line)
	}
	p.Add(plotter.NewGrid())
	return p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}
