package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Plot geometry, in SVG user units.
const (
	plotW, plotH           = 720.0, 440.0
	marginL, marginR       = 80.0, 190.0
	marginT, marginB       = 40.0, 50.0
	innerW, innerH         = plotW - marginL - marginR, plotH - marginT - marginB
	legendX, legendLineLen = plotW - marginR + 20, 24.0
)

// palette is distinguishable for common forms of colour blindness (Okabe-Ito).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"}

// line is one target's throughput by concurrency.
type line struct {
	name   string
	points map[int]float64 // concurrency -> samples/s
}

// plotLines groups rows into one line per target (per target and protocol
// when the rows mix protocols), in order of first appearance. Rows
// repeated for the same target and concurrency (rounds) give their median.
func plotLines(rows []result) []line {
	protocols := map[string]bool{}
	for _, r := range rows {
		protocols[r.Protocol] = true
	}
	var lines []line
	var rounds []map[int][]float64
	index := map[string]int{}
	for _, r := range rows {
		name := r.Target
		if len(protocols) > 1 {
			name += " (" + protocolName(r.Protocol) + ")"
		}
		k, ok := index[name]
		if !ok {
			k = len(lines)
			index[name] = k
			lines = append(lines, line{name: name, points: map[int]float64{}})
			rounds = append(rounds, map[int][]float64{})
		}
		rounds[k][r.Concurrency] = append(rounds[k][r.Concurrency], r.SamplesPerS)
	}
	for k, byConc := range rounds {
		for c, vs := range byConc {
			lines[k].points[c] = median(vs)
		}
	}
	return lines
}

func protocolName(p string) string {
	switch p {
	case "1":
		return "RW 1.0"
	case "2":
		return "RW 2.0"
	}
	return p
}

// writeSVG draws samples/s against concurrency, one polyline per target,
// with axes, ticks and a legend. Concurrency values are spaced evenly, as
// sweeps usually double them.
func writeSVG(w io.Writer, rows []result, title string) error {
	lines := plotLines(rows)
	var xs []int
	top := 0.0
	for _, l := range lines {
		for c, v := range l.points {
			if !slices.Contains(xs, c) {
				xs = append(xs, c)
			}
			top = max(top, v)
		}
	}
	slices.Sort(xs)
	step, ymax := niceScale(top)
	xpos := func(c int) float64 {
		if len(xs) == 1 {
			return marginL + innerW/2
		}
		return marginL + innerW*float64(slices.Index(xs, c))/float64(len(xs)-1)
	}
	ypos := func(v float64) float64 { return marginT + innerH*(1-v/ymax) }

	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="12">`+"\n", plotW, plotH, plotW, plotH)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%g" y="22" text-anchor="middle" font-size="14">%s</text>`+"\n", marginL+innerW/2, esc(title))
	// Horizontal grid and y ticks.
	for i := 0; float64(i)*step <= ymax+step/2; i++ {
		v := float64(i) * step
		y := ypos(v)
		p(`<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`+"\n", marginL, y, marginL+innerW, y)
		p(`<text x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", marginL-6, y, si(v))
	}
	// X ticks.
	for _, c := range xs {
		x := xpos(c)
		p(`<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="black"/>`+"\n", x, marginT+innerH, x, marginT+innerH+5)
		p(`<text x="%.1f" y="%g" text-anchor="middle">%d</text>`+"\n", x, marginT+innerH+18, c)
	}
	// Axes and their titles.
	p(`<path d="M%g %g V%g H%g" fill="none" stroke="black"/>`+"\n", marginL, marginT, marginT+innerH, marginL+innerW)
	p(`<text x="%g" y="%g" text-anchor="middle">concurrent requests (shards)</text>`+"\n", marginL+innerW/2, plotH-10)
	p(`<text transform="translate(16 %g) rotate(-90)" text-anchor="middle">samples/s</text>`+"\n", marginT+innerH/2)
	// One line per target, with a marker per point, and its legend entry.
	for k, l := range lines {
		color := palette[k%len(palette)]
		var pts []string
		for _, c := range xs {
			if v, ok := l.points[c]; ok {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xpos(c), ypos(v)))
			}
		}
		p(`<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		for _, pt := range pts {
			x, y, _ := strings.Cut(pt, ",")
			p(`<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", x, y, color)
		}
		ly := marginT + 10 + 20*float64(k)
		p(`<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="2"/>`+"\n", legendX, ly, legendX+legendLineLen, ly, color)
		p(`<text x="%g" y="%g" dominant-baseline="middle">%s</text>`+"\n", legendX+legendLineLen+6, ly, esc(l.name))
	}
	p("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// niceScale returns a tick step of 1, 2 or 5 times a power of ten and the
// top of the axis, a multiple of it at or above top, with 4 to 10 ticks.
func niceScale(top float64) (step, ymax float64) {
	if top <= 0 {
		return 1, 5
	}
	mag := math.Pow(10, math.Floor(math.Log10(top/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * mag
		if top/step <= 10 {
			break
		}
	}
	return step, math.Ceil(top/step) * step
}

// si formats v with a k or M suffix.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 6, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 6, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeSVGFile plots every row of the CSV file csvPath into svgPath.
func writeSVGFile(svgPath, csvPath string) error {
	rows, err := readCSVFile(csvPath)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := writeSVG(&b, rows, "remote-write throughput by concurrency"); err != nil {
		return err
	}
	return os.WriteFile(svgPath, b.Bytes(), 0o644)
}

// plotOptions are the flags of bench plot.
type plotOptions struct {
	csvPath  string
	svgPath  string
	baseline string
}

func runPlot(o *plotOptions) error {
	rows, err := readCSVFile(o.csvPath)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("%s holds no results", o.csvPath)
	}
	printTable(os.Stdout, rows)
	if o.baseline != "" {
		if err := printRatios(os.Stdout, rows, o.baseline); err != nil {
			return err
		}
	}
	if o.svgPath != "" {
		return writeSVGFile(o.svgPath, o.csvPath)
	}
	return nil
}

// printRatios prints each target's samples/s divided by the baseline's at
// the same concurrency. Rows repeated for a target and concurrency are
// rounds (scripts/bench-write.sh's ROUNDS): the i-th is divided by the
// baseline's i-th at that concurrency, measured next to it (by its last
// when the baseline has fewer), and the median of those ratios is the
// target's ratio, printed with each round's ("-" where the baseline
// measured 0 samples/s).
func printRatios(w io.Writer, rows []result, baseline string) error {
	type key struct {
		target string
		conc   int
	}
	runs := map[key][]float64{}
	var order []key
	for _, r := range rows {
		k := key{r.Target, r.Concurrency}
		if _, seen := runs[k]; !seen && r.Target != baseline {
			order = append(order, k)
		}
		runs[k] = append(runs[k], r.SamplesPerS)
	}
	if !slices.ContainsFunc(rows, func(r result) bool { return r.Target == baseline }) {
		return fmt.Errorf("no rows of the baseline target %q", baseline)
	}
	fmt.Fprintf(w, "\n# samples/s relative to %s at the same concurrency (medians over rounds)\n", baseline)
	fmt.Fprintf(w, "%-28s %5s %12s %12s %7s  %s\n", "target", "conc", "samples/s", "baseline", "ratio", "each round")
	for _, k := range order {
		base := runs[key{baseline, k.conc}]
		if len(base) == 0 {
			continue
		}
		own := runs[k]
		var ratios []float64
		each := make([]string, len(own))
		for i, v := range own {
			// A baseline that stored nothing in a round (every request
			// failed) gives that round no ratio.
			each[i] = "-"
			if b := base[min(i, len(base)-1)]; b > 0 {
				ratios = append(ratios, v/b)
				each[i] = fmt.Sprintf("%.2f", v/b)
			}
		}
		if len(ratios) == 0 {
			continue
		}
		fmt.Fprintf(w, "%-28s %5d %12.0f %12.0f %6.2fx  %s\n", k.target, k.conc, median(own), median(base), median(ratios), strings.Join(each, " "))
	}
	return nil
}
