package remote

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

const benchSamples = 2000

// nodeExporterSeries returns n label sets shaped like node_exporter's CPU and
// filesystem series as a Prometheus server relabels them.
func nodeExporterSeries(n int) [][]prompb.Label {
	modes := []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}
	out := make([][]prompb.Label, n)
	for i := range out {
		out[i] = []prompb.Label{
			{Name: "__name__", Value: "node_cpu_seconds_total"},
			{Name: "cpu", Value: fmt.Sprint(i / len(modes) % 64)},
			{Name: "instance", Value: fmt.Sprintf("node-%03d.dc1.example.com:9100", i/(64*len(modes)))},
			{Name: "job", Value: "node"},
			{Name: "mode", Value: modes[i%len(modes)]},
			{Name: "region", Value: "eu-west-1"},
		}
	}
	return out
}

func benchBodyV1(b *testing.B) []byte {
	req := &prompb.WriteRequest{}
	for i, ls := range nodeExporterSeries(benchSamples) {
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
			Labels:  ls,
			Samples: []prompb.Sample{{Value: float64(i) * 1.5, Timestamp: 1700000000000 + int64(i)}},
		})
	}
	return compress(b, req)
}

func benchBodyV2(b *testing.B) []byte {
	req := &writev2.Request{Symbols: []string{""}}
	index := map[string]uint32{"": 0}
	ref := func(s string) uint32 {
		if r, ok := index[s]; ok {
			return r
		}
		r := uint32(len(req.Symbols))
		req.Symbols = append(req.Symbols, s)
		index[s] = r
		return r
	}
	help := ref("Seconds the CPUs spent in each mode.")
	unit := ref("seconds")
	for i, ls := range nodeExporterSeries(benchSamples) {
		ts := writev2.TimeSeries{
			Samples:  []writev2.Sample{{Value: float64(i) * 1.5, Timestamp: 1700000000000 + int64(i)}},
			Metadata: writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: help, UnitRef: unit},
		}
		for _, l := range ls {
			ts.LabelsRefs = append(ts.LabelsRefs, ref(l.Name), ref(l.Value))
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	return compress(b, req)
}

func BenchmarkDecodeWrite(b *testing.B) {
	for _, bc := range []struct {
		name        string
		body        func(*testing.B) []byte
		contentType string
	}{
		{name: "v1", body: benchBodyV1, contentType: ContentTypeWriteV1},
		{name: "v2", body: benchBodyV2, contentType: ContentTypeWriteV2},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := bc.body(b)
			reader := bytes.NewReader(body)
			r := httptest.NewRequest(http.MethodPost, "/api/v1/write", reader)
			r.Header.Set("Content-Type", bc.contentType)
			r.Header.Set("Content-Encoding", "snappy")
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				reader.Reset(body)
				req, err := DecodeWrite(r, DefaultConfig)
				if err != nil {
					b.Fatal(err)
				}
				if len(req.Series) != benchSamples {
					b.Fatalf("decoded %d series, want %d", len(req.Series), benchSamples)
				}
			}
			b.ReportMetric(float64(benchSamples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
