package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// timeSeries is the columns of a CSV file of bench watch: a time column,
// seconds since the epoch, and one column per gauge.
type timeSeries struct {
	times   []float64
	columns []string
	values  map[string][]float64 // NaN where a cell is empty
}

// readTimeSeries reads a CSV file whose first column is "time".
func readTimeSeries(r io.Reader) (*timeSeries, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || len(rows[0]) < 2 || rows[0][0] != "time" {
		return nil, errors.New(`want a header "time,COLUMN,..."`)
	}
	ts := &timeSeries{columns: rows[0][1:], values: map[string][]float64{}}
	for i, row := range rows[1:] {
		t, err := strconv.ParseFloat(row[0], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: time: %w", i+2, err)
		}
		ts.times = append(ts.times, t)
		for k, c := range ts.columns {
			v := math.NaN()
			if cell := row[k+1]; cell != "" {
				if v, err = strconv.ParseFloat(cell, 64); err != nil {
					return nil, fmt.Errorf("line %d: %s: %w", i+2, c, err)
				}
			}
			ts.values[c] = append(ts.values[c], v)
		}
	}
	return ts, nil
}

// maxOf is the largest value of vals that is not NaN; NaN when there is
// none.
func maxOf(vals []float64) float64 {
	m := math.NaN()
	for _, v := range vals {
		if !math.IsNaN(v) && (math.IsNaN(m) || v > m) {
			m = v
		}
	}
	return m
}

// thirds returns the largest value of each third of vals, in time order.
func thirds(vals []float64) [3]float64 {
	n := len(vals)
	return [3]float64{maxOf(vals[:n/3]), maxOf(vals[n/3 : 2*n/3]), maxOf(vals[2*n/3:])}
}

// flat reports whether a series stayed flat: the largest value of its last
// third is at most ratio above the largest of its middle third, plus slack.
// The first third, where a process warms up (buffers, pools, connections
// to its database), is not compared. A series of fewer than 3 values, or
// whose middle or last third has no value, is not flat.
func flat(vals []float64, ratio, slack float64) bool {
	if len(vals) < 3 {
		return false
	}
	t := thirds(vals)
	return !math.IsNaN(t[1]) && !math.IsNaN(t[2]) && t[2] <= t[1]*(1+ratio)+slack
}

// seriesOptions are the flags of bench plot-series.
type seriesOptions struct {
	csvPath   string
	svgPath   string
	title     string
	columns   []string
	flatRatio float64
	flatSlack []string // COLUMN=SLACK: the columns to check
}

// defaultSeriesColumns are the columns plotted without --column: the
// gauges of bench watch that change.
var defaultSeriesColumns = []string{"rss_mib", "goroutines", "open_fds", "connections"}

// runPlotSeries prints the largest value of each third of every column,
// checks the flatness of the columns of --flat, and plots the columns
// into --svg.
func runPlotSeries(o *seriesOptions) error {
	f, err := os.Open(o.csvPath)
	if err != nil {
		return err
	}
	ts, err := readTimeSeries(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", o.csvPath, err)
	}
	if len(ts.times) == 0 {
		return fmt.Errorf("%s holds no rows", o.csvPath)
	}
	cols := o.columns
	if len(cols) == 0 {
		for _, c := range defaultSeriesColumns {
			if slices.Contains(ts.columns, c) {
				cols = append(cols, c)
			}
		}
	}
	for _, c := range cols {
		if !slices.Contains(ts.columns, c) {
			return fmt.Errorf("--column %s: not a column of %s (%s)", c, o.csvPath, strings.Join(ts.columns, ", "))
		}
	}
	slack := map[string]float64{}
	var checked []string
	for _, s := range o.flatSlack {
		c, v, ok := strings.Cut(s, "=")
		x, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || x < 0 || !slices.Contains(ts.columns, c) {
			return fmt.Errorf("--flat %q: want COLUMN=SLACK, a column of %s and a slack >= 0", s, o.csvPath)
		}
		slack[c] = x
		checked = append(checked, c)
	}

	span := ts.times[len(ts.times)-1] - ts.times[0]
	fmt.Printf("# %d samples over %.0f s; the largest value of each third\n", len(ts.times), span)
	fmt.Printf("%-12s %12s %12s %12s  %s\n", "column", "first", "middle", "last", "flat")
	var failed []string
	for _, c := range ts.columns {
		t := thirds(ts.values[c])
		verdict := "-"
		if s, ok := slack[c]; ok {
			verdict = fmt.Sprintf("ok (last <= middle x %.2f + %g)", 1+o.flatRatio, s)
			if !flat(ts.values[c], o.flatRatio, s) {
				verdict = fmt.Sprintf("NOT FLAT (last > middle x %.2f + %g)", 1+o.flatRatio, s)
				failed = append(failed, c)
			}
		}
		fmt.Printf("%-12s %12g %12g %12g  %s\n", c, t[0], t[1], t[2], verdict)
	}
	if o.svgPath != "" {
		var b bytes.Buffer
		if err := writeSeriesSVG(&b, ts, cols, o.title); err != nil {
			return err
		}
		if err := os.WriteFile(o.svgPath, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if len(checked) > 0 && len(ts.times) < 3 {
		return fmt.Errorf("%d samples: too few to tell whether %s stayed flat", len(ts.times), strings.Join(checked, ", "))
	}
	if len(failed) > 0 {
		return fmt.Errorf("not flat: %s", strings.Join(failed, ", "))
	}
	return nil
}

// Geometry of the time-series plot, one panel per column, in SVG user
// units.
const (
	seriesPanelH   = 130.0
	seriesPanelGap = 34.0
	seriesTop      = 44.0
	seriesBottom   = 46.0
	seriesLeft     = 80.0
	seriesRight    = 30.0
	seriesW        = 720.0
)

// writeSeriesSVG draws each column of cols against time in a panel of its
// own, one above the other on a shared time axis (seconds for runs under
// 5 minutes, else minutes from the first sample), each with its own
// y scale from 0.
func writeSeriesSVG(w io.Writer, ts *timeSeries, cols []string, title string) error {
	if len(cols) == 0 {
		return errors.New("no column to plot")
	}
	t0, span := ts.times[0], ts.times[len(ts.times)-1]-ts.times[0]
	unit, div := "s", 1.0
	if span >= 300 {
		unit, div = "min", 60
	}
	xstep, xmax := niceScale(max(span/div, 1e-9))
	innerW := seriesW - seriesLeft - seriesRight
	height := seriesTop + float64(len(cols))*(seriesPanelH+seriesPanelGap) - seriesPanelGap + seriesBottom
	xpos := func(t float64) float64 { return seriesLeft + innerW*((t-t0)/div)/xmax }

	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="12">`+"\n", seriesW, height, seriesW, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%g" y="22" text-anchor="middle" font-size="14">%s</text>`+"\n", seriesLeft+innerW/2, esc(title))
	for k, c := range cols {
		top := seriesTop + float64(k)*(seriesPanelH+seriesPanelGap)
		bottom := top + seriesPanelH
		vals := ts.values[c]
		hi := maxOf(vals)
		if math.IsNaN(hi) {
			hi = 0
		}
		ystep, ymax := niceScale(hi)
		ypos := func(v float64) float64 { return bottom - seriesPanelH*v/ymax }
		for i := 0; float64(i)*ystep <= ymax+ystep/2; i++ {
			v := float64(i) * ystep
			p(`<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`+"\n", seriesLeft, ypos(v), seriesLeft+innerW, ypos(v))
			p(`<text x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", seriesLeft-6, ypos(v), si(v))
		}
		// The thirds that flatness compares.
		for _, f := range []float64{1.0 / 3, 2.0 / 3} {
			x := xpos(t0 + f*span)
			p(`<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#bbb" stroke-dasharray="4 3"/>`+"\n", x, top, x, bottom)
		}
		p(`<path d="M%g %g V%g H%g" fill="none" stroke="black"/>`+"\n", seriesLeft, top, bottom, seriesLeft+innerW)
		p(`<text x="%g" y="%g" font-weight="bold">%s</text>`+"\n", seriesLeft+6, top-6, esc(c))
		p(`<text x="%g" y="%g" text-anchor="end">max %s</text>`+"\n", seriesLeft+innerW, top-6, si(hi))
		var pts []string
		for i, v := range vals {
			if !math.IsNaN(v) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xpos(ts.times[i]), ypos(v)))
			}
		}
		p(`<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", palette[k%len(palette)], strings.Join(pts, " "))
		if k == len(cols)-1 {
			for i := 0; float64(i)*xstep <= xmax+xstep/2; i++ {
				x := seriesLeft + innerW*float64(i)*xstep/xmax
				p(`<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="black"/>`+"\n", x, bottom, x, bottom+5)
				p(`<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", x, bottom+18, si(float64(i)*xstep))
			}
			p(`<text x="%g" y="%g" text-anchor="middle">time (%s)</text>`+"\n", seriesLeft+innerW/2, height-10, unit)
		}
	}
	p("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}
