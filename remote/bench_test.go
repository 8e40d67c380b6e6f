package remote

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/golang/snappy"
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

// benchPayload is a remote-write body of series x perSeries float samples.
type benchPayload struct {
	name              string
	version           WriteVersion
	series, perSeries int
}

func (bp benchPayload) samples() int { return bp.series * bp.perSeries }

// benchPayloads are the shapes the write path is measured with: one sample
// per series as a Prometheus server sends its scrapes (2000 per request, the
// default max_samples_per_send), and fewer series with more samples, as a
// sender catching up.
var benchPayloads = []benchPayload{
	{name: "v1", version: WriteV1, series: benchSamples, perSeries: 1},
	{name: "v2", version: WriteV2, series: benchSamples, perSeries: 1},
	{name: "v1/500x4", version: WriteV1, series: 500, perSeries: 4},
	{name: "v2/500x4", version: WriteV2, series: 500, perSeries: 4},
}

// raw returns the uncompressed protobuf body.
func (bp benchPayload) raw(t testing.TB) []byte {
	var m marshaler
	if bp.version == WriteV2 {
		m = benchRequestV2(bp.series, bp.perSeries)
	} else {
		m = benchRequestV1(bp.series, bp.perSeries)
	}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func benchRequestV1(series, perSeries int) *prompb.WriteRequest {
	req := &prompb.WriteRequest{}
	for i, ls := range nodeExporterSeries(series) {
		ts := prompb.TimeSeries{Labels: ls}
		for j := range perSeries {
			ts.Samples = append(ts.Samples, prompb.Sample{Value: float64(i) * 1.5, Timestamp: 1700000000000 + int64(i) + 15000*int64(j)})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	return req
}

func benchRequestV2(series, perSeries int) *writev2.Request {
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
	for i, ls := range nodeExporterSeries(series) {
		ts := writev2.TimeSeries{
			Metadata: writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: help, UnitRef: unit},
		}
		for j := range perSeries {
			ts.Samples = append(ts.Samples, writev2.Sample{Value: float64(i) * 1.5, Timestamp: 1700000000000 + int64(i) + 15000*int64(j)})
		}
		for _, l := range ls {
			ts.LabelsRefs = append(ts.LabelsRefs, ref(l.Name), ref(l.Value))
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	return req
}

// benchRequest returns a request for body that decodeWrite can read again
// after reader.Reset(body).
func benchRequest(body []byte, version WriteVersion) (*http.Request, *bytes.Reader) {
	reader := bytes.NewReader(body)
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", reader)
	r.Header.Set("Content-Type", map[WriteVersion]string{WriteV1: ContentTypeWriteV1, WriteV2: ContentTypeWriteV2}[version])
	r.Header.Set("Content-Encoding", "snappy")
	return r, reader
}

// runDecodeBench runs decode on every payload, reporting decompressed
// throughput and samples/s.
func runDecodeBench(b *testing.B, decode func(b *testing.B, bp benchPayload, r *http.Request) int) {
	for _, bp := range benchPayloads {
		b.Run(bp.name, func(b *testing.B) {
			raw := bp.raw(b)
			body := snappy.Encode(nil, raw)
			r, reader := benchRequest(body, bp.version)
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				reader.Reset(body)
				if n := decode(b, bp, r); n != bp.samples() {
					b.Fatalf("decoded %d samples, want %d", n, bp.samples())
				}
			}
			b.ReportMetric(float64(bp.samples())*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkDecodeWrite measures the whole decoding of an http.Request, as
// a server does it: reading the body, snappy, the protobuf walk handing
// each series out, and Release.
func BenchmarkDecodeWrite(b *testing.B) {
	runDecodeBench(b, func(b *testing.B, _ benchPayload, r *http.Request) int {
		return decodeCounting(b, r)
	})
}

// sampleCounter counts the float samples of the series handed to it.
type sampleCounter struct{ samples int }

func (c *sampleCounter) Series(s *Series) error {
	c.samples += len(s.Samples)
	return nil
}

// decodeCounting decodes r with decodeWith, within DefaultConfig, and
// returns its float samples.
func decodeCounting(tb testing.TB, r *http.Request) int {
	var c sampleCounter
	req, err := decodeWith(r, DefaultConfig, &c)
	if err != nil {
		tb.Fatal(err)
	}
	req.Release()
	return c.samples
}

// BenchmarkDecodeWriteGogo measures the generated gogo unmarshallers and the
// conversion promflux used before its own walk, for comparison only.
func BenchmarkDecodeWriteGogo(b *testing.B) {
	runDecodeBench(b, func(b *testing.B, bp benchPayload, r *http.Request) int {
		decoded, err := readSnappyBody(r, DefaultConfig)
		if err != nil {
			b.Fatal(err)
		}
		defer decodedBuffers.put(decoded)
		decode := decodeV1Gogo
		if bp.version == WriteV2 {
			decode = decodeV2Gogo
		}
		req, err := decode(decoded)
		if err != nil {
			b.Fatal(err)
		}
		n, _, _ := counts(req)
		return n
	})
}

// BenchmarkDecodeOnlyBaseline is the floor the write path is measured
// against: reading the body, snappy into a reused buffer, and a walk over
// the protobuf bytes that builds nothing, only counts samples and reads
// every label byte once.
func BenchmarkDecodeOnlyBaseline(b *testing.B) {
	var buf []byte
	var sink byte
	runDecodeBench(b, func(b *testing.B, bp benchPayload, r *http.Request) int {
		compressed, err := readBody(r.Body, r.ContentLength, int64(DefaultConfig.MaxRequestBytes))
		if err != nil {
			b.Fatal(err)
		}
		n, err := snappy.DecodedLen(compressed)
		if err != nil {
			b.Fatal(err)
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		if buf, err = snappy.Decode(buf[:cap(buf)], compressed); err != nil {
			b.Fatal(err)
		}
		compressedBuffers.put(compressed)
		samples, touched, err := baselineWalk(buf, bp.version)
		if err != nil {
			b.Fatal(err)
		}
		sink ^= touched
		return samples
	})
	_ = sink
}

// baselineWalk counts the samples of a RW 1.0 or 2.0 body and folds every
// byte of its label strings into touched; for RW 2.0, every byte of the
// symbols table and every label reference.
func baselineWalk(body []byte, version WriteVersion) (samples int, touched byte, err error) {
	seriesField, stringField := 1, 0 // RW 1.0: timeseries; strings are in labels
	if version == WriteV2 {
		seriesField, stringField = 5, 4 // RW 2.0: timeseries, symbols
	}
	err = walkFields(body, func(field int32, v []byte) error {
		switch int(field) {
		case stringField:
			touched ^= fold(v)
		case seriesField:
			return walkFields(v, func(field int32, v []byte) error {
				switch {
				case field == 2:
					samples++
				case field == 1 && version == WriteV1:
					return walkFields(v, func(_ int32, v []byte) error {
						touched ^= fold(v)
						return nil
					})
				case field == 1: // packed label refs
					for len(v) > 0 {
						ref, n, err := varint(v)
						if err != nil {
							return err
						}
						touched ^= byte(ref)
						v = v[n:]
					}
				}
				return nil
			})
		}
		return nil
	})
	return samples, touched, err
}

// walkFields calls fn with the value of every length-delimited field of msg.
func walkFields(msg []byte, fn func(field int32, v []byte) error) error {
	for i := 0; i < len(msg); {
		key, n, err := tag(msg[i:])
		if err != nil {
			return err
		}
		i += n
		if key&7 != wireBytes {
			n, err := skip(msg[i:], int(key&7))
			if err != nil {
				return err
			}
			i += n
			continue
		}
		v, n, err := lengthPrefixed(msg[i:])
		if err != nil {
			return err
		}
		if err := fn(fieldNum(key), v); err != nil {
			return err
		}
		i += n
	}
	return nil
}

func fold(b []byte) (x byte) {
	for _, c := range b {
		x ^= c
	}
	return x
}
