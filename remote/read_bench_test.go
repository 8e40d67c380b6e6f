package remote

import (
	"net/http"
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

// discardWriter is a flushing ResponseWriter that drops the body, so that
// benchmarks measure encoding only.
type discardWriter struct {
	header http.Header
	n      int
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discardWriter) Flush()                      {}

const benchReadSamples = 1_000_000

// benchValue resembles a counter scraped every 15s: mostly small increments.
func benchValue(i int) float64 { return float64(i/3) * 0.25 }

func BenchmarkChunkedWriter(b *testing.B) {
	for _, bc := range []struct {
		name   string
		series int
	}{
		{name: "1 series", series: 1},
		{name: "1000 series", series: 1000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			labels := nodeExporterSeries(bc.series)
			perSeries := benchReadSamples / bc.series
			w := &discardWriter{header: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(benchReadSamples * 16)
			for b.Loop() {
				cw := NewChunkedWriter(w, DefaultMaxFrameBytes)
				for s := range bc.series {
					if err := cw.StartSeries(0, labels[s]); err != nil {
						b.Fatal(err)
					}
					for i := range perSeries {
						if err := cw.Append(1700000000000+int64(i)*15000, benchValue(i)); err != nil {
							b.Fatal(err)
						}
					}
					if err := cw.EndSeries(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(benchReadSamples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(w.n)/float64(b.N)/benchReadSamples, "bytes/sample")
		})
	}
}

func BenchmarkSamplesWriter(b *testing.B) {
	const series, perSeries = 1000, 120
	resp := &prompb.ReadResponse{Results: []*prompb.QueryResult{{}}}
	for _, ls := range nodeExporterSeries(series) {
		ts := &prompb.TimeSeries{Labels: ls, Samples: make([]prompb.Sample, perSeries)}
		for i := range ts.Samples {
			ts.Samples[i] = prompb.Sample{Timestamp: 1700000000000 + int64(i)*15000, Value: benchValue(i)}
		}
		resp.Results[0].Timeseries = append(resp.Results[0].Timeseries, ts)
	}
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(series * perSeries * 16)
	for b.Loop() {
		if err := writeSamples(b, w, resp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(series*perSeries)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
