package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestFlat(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name         string
		vals         []float64
		ratio, slack float64
		want         bool
	}{
		{"steady", []float64{10, 50, 50, 52, 50, 51, 55, 50, 49}, 0.2, 0, true},
		{"warm-up is not compared", []float64{100, 5, 5, 10, 10, 10, 11, 10, 10}, 0.2, 0, true},
		{"growing", []float64{10, 20, 30, 40, 50, 60, 70, 80, 90}, 0.2, 0, false},
		{"growing within the slack", []float64{10, 20, 30, 40, 50, 60, 70, 80, 90}, 0.2, 30, true},
		{"a spike at the end", []float64{50, 50, 50, 50, 50, 50, 50, 50, 100}, 0.2, 5, false},
		{"fewer than 3 values", []float64{1, 1}, 0.2, 100, false},
		{"a third without values", []float64{1, 1, 1, nan, nan, nan, 1, 1, 1}, 0.2, 100, false},
		{"gaps are skipped", []float64{1, 1, 1, 10, nan, nan, 11, nan, 1}, 0.2, 0, true},
	} {
		if got := flat(tc.vals, tc.ratio, tc.slack); got != tc.want {
			t.Errorf("%s: flat(%v, %g, %g) = %v, want %v (thirds %v)", tc.name, tc.vals, tc.ratio, tc.slack, got, tc.want, thirds(tc.vals))
		}
	}
}

func TestReadTimeSeries(t *testing.T) {
	ts, err := readTimeSeries(strings.NewReader("time,rss_mib,goroutines\n1000.5,20.5,10\n1010.5,,12\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.times) != 2 || ts.times[1] != 1010.5 || ts.values["goroutines"][1] != 12 || !math.IsNaN(ts.values["rss_mib"][1]) {
		t.Fatalf("got %+v", ts)
	}
	for _, bad := range []string{"", "rss,time\n1,2\n", "time,x\nnow,1\n", "time,x\n1,many\n"} {
		if _, err := readTimeSeries(strings.NewReader(bad)); err == nil {
			t.Errorf("%q read without an error", bad)
		}
	}
}

// TestWriteSeriesSVG: the plot is well-formed XML with one polyline per
// column, whose points are all inside the picture.
func TestWriteSeriesSVG(t *testing.T) {
	ts := &timeSeries{columns: []string{"a", "b"}, values: map[string][]float64{}}
	for i := range 40 {
		ts.times = append(ts.times, 1e9+10*float64(i))
		ts.values["a"] = append(ts.values["a"], float64(i%7))
		ts.values["b"] = append(ts.values["b"], 1000+float64(i))
	}
	var b bytes.Buffer
	if err := writeSeriesSVG(&b, ts, []string{"a", "b"}, "t <&>"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Width     float64 `xml:"width,attr"`
		Height    float64 `xml:"height,attr"`
		Polylines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if len(doc.Polylines) != 2 {
		t.Fatalf("%d polylines, want 2", len(doc.Polylines))
	}
	for _, pl := range doc.Polylines {
		pts := strings.Fields(pl.Points)
		if len(pts) != 40 {
			t.Fatalf("%d points, want 40", len(pts))
		}
		for _, pt := range pts {
			var x, y float64
			if _, err := fmt.Sscanf(pt, "%g,%g", &x, &y); err != nil || x < 0 || x > doc.Width || y < 0 || y > doc.Height {
				t.Fatalf("point %s outside the %gx%g picture (%v)", pt, doc.Width, doc.Height, err)
			}
		}
	}
}
