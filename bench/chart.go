package bench

import (
	"fmt"
	"image/color"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart draws, for each profile, the latency percentiles of each step, signupflow beside the floor,
// as one PNG at path (one panel per profile, stacked).
func (r *Result) Chart(path string) error {
	var rows [][]*plot.Plot
	for _, pr := range r.Profiles {
		p, err := r.profileChart(pr)
		if err != nil {
			return err
		}
		rows = append(rows, []*plot.Plot{p})
	}
	if len(rows) == 0 {
		return fmt.Errorf("no profile to draw")
	}
	const w, h = 11 * vg.Inch, 5.5 * vg.Inch
	img := vgimg.New(w, h*vg.Length(len(rows)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadY: vg.Points(18)}
	canvases := plot.Align(rows, tiles, dc)
	for i := range rows {
		rows[i][0].Draw(canvases[i][0])
	}
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

// profileChart is one profile's panel.
func (r *Result) profileChart(pr *ProfileResult) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Latency per step %s: signupflow (blue) beside the Temporal floor (orange)\n"+
		"n = %d sign-ups, %d at a time: signupflow %s sign-ups/s, floor %s (ratio %s); %s, %d cores",
		profileTitle(pr.Profile), r.N, r.Concurrency, num(pr.Signupflow.SignupsPerSecond), num(pr.Floor.SignupsPerSecond),
		num(pr.ThroughputRatio), r.Machine.CPUModel, r.Machine.Cores)
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Y.Label.Text = "latency (ms)"
	p.Y.Min = 0
	p.NominalX(stepNames[:]...)
	p.X.Label.Text = "signupflow: the HTTP step's latency; floor: workflow start + 1st update, 2nd update, 3rd update"
	p.X.Label.TextStyle.Font.Size = vg.Points(10)
	grid := plotter.NewGrid()
	grid.Vertical.Width = 0 // lines through the middle of a group would split it
	p.Add(grid)
	p.Y.Tick.Marker = wholeTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(10)

	type series struct {
		name  string
		steps Steps
		pick  func(Latency) float64
		color color.RGBA
	}
	blue := []color.RGBA{{158, 202, 225, 255}, {66, 146, 198, 255}, {8, 69, 148, 255}}
	orange := []color.RGBA{{253, 208, 162, 255}, {253, 141, 60, 255}, {166, 54, 3, 255}}
	pct := []struct {
		label string
		pick  func(Latency) float64
	}{{"p50", func(l Latency) float64 { return l.P50 }}, {"p95", func(l Latency) float64 { return l.P95 }},
		{"p99", func(l Latency) float64 { return l.P99 }}}
	var all []series
	for i, q := range pct {
		all = append(all, series{"signupflow " + q.label, pr.Signupflow.Steps, q.pick, blue[i]})
	}
	for i, q := range pct {
		all = append(all, series{"floor " + q.label, pr.Floor.Steps, q.pick, orange[i]})
	}

	const w = 22 // bar width in points
	top := 0.0
	for k, s := range all {
		vals := make(plotter.Values, len(stepNames))
		labels := make([]string, len(stepNames))
		xys := make(plotter.XYs, len(stepNames))
		for i := range stepNames {
			v := s.pick(s.steps.at(i))
			vals[i], labels[i], xys[i] = v, num(v), plotter.XY{X: float64(i), Y: v}
			top = max(top, v)
		}
		bars, err := plotter.NewBarChart(vals, vg.Points(w))
		if err != nil {
			return nil, err
		}
		bars.Color = s.color
		bars.LineStyle.Width = vg.Points(0.5)
		// Six bars per step, with a gap between signupflow's three and the floor's.
		off := (float64(k) - 2.5) * w
		if k >= 3 {
			off += 6
		} else {
			off -= 6
		}
		bars.Offset = vg.Points(off)
		p.Add(bars)
		p.Legend.Add(s.name, bars)

		lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return nil, err
		}
		for i := range lbl.TextStyle {
			lbl.TextStyle[i].Font.Size = vg.Points(8)
			lbl.TextStyle[i].XAlign = text.XCenter
			lbl.TextStyle[i].YAlign = text.YBottom
		}
		lbl.Offset = vg.Point{X: vg.Points(off), Y: vg.Points(2)}
		p.Add(lbl)
	}
	// Room above the tallest bar for its label and for the legend.
	p.Y.Max = max(top, 1) * 1.6
	p.X.Min, p.X.Max = -0.65, 2.65
	p.X.Tick.Label.Font.Size = vg.Points(12)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	return p, nil
}

// wholeTicks are the default ticks labelled without decimals (latencies are shown in whole ms).
type wholeTicks struct{}

func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}
