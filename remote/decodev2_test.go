package remote

import (
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

func sampleV2WithoutSeries() *writev2.Request {
	return &writev2.Request{Symbols: []string{"", "unused"}}
}

// legacyCT encodes the per-series created_timestamp (field 6, varint) that
// earlier Remote-Write 2.0 senders emitted.
func legacyCT(ms uint64) []byte {
	b := []byte{legacyCreatedTimestampField << 3}
	for ms >= 0x80 {
		b = append(b, byte(ms)|0x80)
		ms >>= 7
	}
	return append(b, byte(ms))
}

func TestDecodeWriteV2Conversion(t *testing.T) {
	symbols := []string{
		"",                                // 0
		"__name__", "http_requests_total", // 1, 2
		"job", "api", // 3, 4
		"code", "200", // 5, 6
		"Total HTTP requests.", "requests", // 7, 8
		"trace_id", "4bf92f3577b34da6", // 9, 10
		"rpc_duration_seconds", "RPC latency.", "seconds", // 11, 12, 13
	}
	in := &writev2.Request{
		Symbols: symbols,
		Timeseries: []writev2.TimeSeries{
			{
				// Unsorted on purpose: the view keeps the order sent.
				LabelsRefs: []uint32{3, 4, 1, 2, 5, 6},
				Samples: []writev2.Sample{
					{Value: 10, Timestamp: 1000},
					{Value: 11, Timestamp: 2000, StartTimestamp: 500},
					{Value: 12, Timestamp: 3000, StartTimestamp: 2500},
				},
				Exemplars: []writev2.Exemplar{{LabelsRefs: []uint32{9, 10}, Value: 11, Timestamp: 2000}},
				Metadata:  writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: 7, UnitRef: 8},
			},
			{
				LabelsRefs: []uint32{1, 11, 3, 4},
				Histograms: []writev2.Histogram{
					{
						Count: &writev2.Histogram_CountInt{CountInt: 7}, Sum: 3.5, Schema: 3, ZeroThreshold: 1e-128,
						ZeroCount:      &writev2.Histogram_ZeroCountInt{ZeroCountInt: 1},
						NegativeSpans:  []writev2.BucketSpan{{Offset: -2, Length: 1}},
						NegativeDeltas: []int64{1},
						PositiveSpans:  []writev2.BucketSpan{{Offset: 0, Length: 2}, {Offset: 3, Length: 1}},
						PositiveDeltas: []int64{2, 1, -1},
						ResetHint:      writev2.Histogram_RESET_HINT_NO,
						Timestamp:      4000, StartTimestamp: 100,
					},
					{
						Count: &writev2.Histogram_CountFloat{CountFloat: 7.5}, Sum: 4, Schema: -53,
						ZeroCount:      &writev2.Histogram_ZeroCountFloat{ZeroCountFloat: 0.5},
						PositiveSpans:  []writev2.BucketSpan{{Offset: 0, Length: 2}},
						PositiveCounts: []float64{3, 4},
						CustomValues:   []float64{0.1, 1},
						ResetHint:      writev2.Histogram_RESET_HINT_GAUGE,
						Timestamp:      5000,
					},
				},
				Metadata: writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_HISTOGRAM, HelpRef: 12, UnitRef: 13},
			},
			{
				// Exemplar-only series from an earlier 2.0 sender with a
				// per-series created timestamp.
				LabelsRefs:       []uint32{1, 2},
				Exemplars:        []writev2.Exemplar{{Value: 1, Timestamp: 6000}},
				XXX_unrecognized: legacyCT(1700000000123),
			},
		},
	}
	want := &WriteRequest{
		Version: WriteV2,
		series: []Series{
			{
				Labels:           []prompb.Label{{Name: "job", Value: "api"}, {Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: "200"}},
				Samples:          []prompb.Sample{{Value: 10, Timestamp: 1000}, {Value: 11, Timestamp: 2000}, {Value: 12, Timestamp: 3000}},
				Exemplars:        []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "4bf92f3577b34da6"}}, Value: 11, Timestamp: 2000}},
				Metadata:         prompb.MetricMetadata{Type: prompb.MetricMetadata_COUNTER, Help: "Total HTTP requests.", Unit: "requests"},
				CreatedTimestamp: 500,
			},
			{
				Labels: []prompb.Label{{Name: "__name__", Value: "rpc_duration_seconds"}, {Name: "job", Value: "api"}},
				Histograms: []prompb.Histogram{
					{
						Count: &prompb.Histogram_CountInt{CountInt: 7}, Sum: 3.5, Schema: 3, ZeroThreshold: 1e-128,
						ZeroCount:      &prompb.Histogram_ZeroCountInt{ZeroCountInt: 1},
						NegativeSpans:  []prompb.BucketSpan{{Offset: -2, Length: 1}},
						NegativeDeltas: []int64{1},
						PositiveSpans:  []prompb.BucketSpan{{Offset: 0, Length: 2}, {Offset: 3, Length: 1}},
						PositiveDeltas: []int64{2, 1, -1},
						ResetHint:      prompb.Histogram_NO,
						Timestamp:      4000,
					},
					{
						Count: &prompb.Histogram_CountFloat{CountFloat: 7.5}, Sum: 4, Schema: -53,
						ZeroCount:      &prompb.Histogram_ZeroCountFloat{ZeroCountFloat: 0.5},
						PositiveSpans:  []prompb.BucketSpan{{Offset: 0, Length: 2}},
						PositiveCounts: []float64{3, 4},
						CustomValues:   []float64{0.1, 1},
						ResetHint:      prompb.Histogram_GAUGE,
						Timestamp:      5000,
					},
				},
				Metadata:         prompb.MetricMetadata{Type: prompb.MetricMetadata_HISTOGRAM, Help: "RPC latency.", Unit: "seconds"},
				CreatedTimestamp: 100,
			},
			{
				Labels:           []prompb.Label{{Name: "__name__", Value: "http_requests_total"}},
				Exemplars:        []prompb.Exemplar{{Value: 1, Timestamp: 6000}},
				CreatedTimestamp: 1700000000123,
			},
		},
	}

	got, err := decodeWrite(newWriteRequest(compress(t, in), ContentTypeWriteV2), DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.series) != len(want.series) {
		t.Fatalf("got %d series, want %d", len(got.series), len(want.series))
	}
	for i := range want.series {
		if !reflect.DeepEqual(got.series[i], want.series[i]) {
			t.Errorf("series %d:\n got  %+v\n want %+v", i, got.series[i], want.series[i])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("request differs:\n got  %+v\n want %+v", got, want)
	}
	if s, h, e := counts(got); s != 3 || h != 2 || e != 2 {
		t.Fatalf("Counts() = %d, %d, %d; want 3, 2, 2", s, h, e)
	}
}

// Labels of one series live in a shared backing array; appending to them
// must not overwrite the next series.
func TestDecodeWriteV2LabelsDoNotAlias(t *testing.T) {
	in := &writev2.Request{
		Symbols: []string{"", "__name__", "a", "b"},
		Timeseries: []writev2.TimeSeries{
			{LabelsRefs: []uint32{1, 2}, Samples: []writev2.Sample{{Value: 1}}},
			{LabelsRefs: []uint32{1, 3}, Samples: []writev2.Sample{{Value: 2}}},
		},
	}
	got, err := decodeWrite(newWriteRequest(compress(t, in), ContentTypeWriteV2), DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(got.series[0].Labels, prompb.Label{Name: "x", Value: "y"})
	_ = append(got.series[0].Samples, prompb.Sample{Value: 99})
	if got.series[1].Labels[0].Value != "b" || got.series[1].Samples[0].Value != 2 {
		t.Fatalf("appending to series 0 changed series 1: %+v", got.series[1])
	}
}

func TestDecodeWriteV2Refs(t *testing.T) {
	symbols := []string{"", "__name__", "up", "job", "node"} // 5 symbols
	series := func(mod func(*writev2.TimeSeries)) *writev2.Request {
		ts := writev2.TimeSeries{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: []writev2.Sample{{Value: 1, Timestamp: 1}}}
		mod(&ts)
		return &writev2.Request{Symbols: symbols, Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 2}}, ts}}
	}
	for _, tc := range []struct {
		name    string
		req     *writev2.Request
		wantErr string
	}{
		{name: "label name ref out of range", req: series(func(ts *writev2.TimeSeries) { ts.LabelsRefs[2] = 17 }),
			wantErr: "series 1: label ref 17 out of range (5 symbols)"},
		{name: "label value ref out of range", req: series(func(ts *writev2.TimeSeries) { ts.LabelsRefs[3] = 5 }),
			wantErr: "series 1: label ref 5 out of range (5 symbols)"},
		{name: "max uint32 ref", req: series(func(ts *writev2.TimeSeries) { ts.LabelsRefs[0] = 1<<32 - 1 }),
			wantErr: "series 1: label ref 4294967295 out of range (5 symbols)"},
		{name: "odd label refs", req: series(func(ts *writev2.TimeSeries) { ts.LabelsRefs = ts.LabelsRefs[:3] }),
			wantErr: "series 1: odd number of label refs (3): refs must come in name/value pairs"},
		{name: "exemplar label ref out of range", req: series(func(ts *writev2.TimeSeries) {
			ts.Exemplars = []writev2.Exemplar{{LabelsRefs: []uint32{1, 2}}, {LabelsRefs: []uint32{3, 9}}}
		}), wantErr: "series 1: exemplar 1: label ref 9 out of range (5 symbols)"},
		{name: "odd exemplar label refs", req: series(func(ts *writev2.TimeSeries) {
			ts.Exemplars = []writev2.Exemplar{{LabelsRefs: []uint32{3}}}
		}), wantErr: "series 1: exemplar 0: odd number of label refs (1)"},
		{name: "help ref out of range", req: series(func(ts *writev2.TimeSeries) { ts.Metadata.HelpRef = 5 }),
			wantErr: "series 1: metadata help ref 5 out of range (5 symbols)"},
		{name: "unit ref out of range", req: series(func(ts *writev2.TimeSeries) { ts.Metadata.UnitRef = 6 }),
			wantErr: "series 1: metadata unit ref 6 out of range (5 symbols)"},
		{name: "symbols not starting with empty string", req: &writev2.Request{
			Symbols: []string{"__name__", "up"}, Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{0, 1}}},
		}, wantErr: "symbols table of 2 entries must start with the empty string"},
		{name: "series without symbols", req: &writev2.Request{
			Timeseries: []writev2.TimeSeries{{Samples: []writev2.Sample{{Value: 1}}}},
		}, wantErr: "symbols table of 0 entries must start with the empty string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeWrite(newWriteRequest(compress(t, tc.req), ContentTypeWriteV2), DefaultConfig)
			assertKind(t, err, ErrInvalid)
			if got := err.Error(); !strings.HasPrefix(got, tc.wantErr) {
				t.Fatalf("error %q, want prefix %q", got, tc.wantErr)
			}
		})
	}
}

func TestLegacyCreatedTimestamp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		unknown []byte
		want    int64
		wantOK  bool
	}{
		{name: "none"},
		{name: "only field 6", unknown: legacyCT(1234567), want: 1234567, wantOK: true},
		{name: "after other fields", unknown: append([]byte{
			7<<3 | wireVarint, 0x05,
			8<<3 | wireFixed64, 1, 2, 3, 4, 5, 6, 7, 8,
			9<<3 | wireBytes, 2, 'h', 'i',
			10<<3 | wireFixed32, 1, 2, 3, 4,
		}, legacyCT(42)...), want: 42, wantOK: true},
		{name: "field 6 with another wire type", unknown: []byte{6<<3 | wireBytes, 1, 'x'}},
		{name: "truncated length", unknown: []byte{9<<3 | wireBytes, 5, 'x'}},
		{name: "truncated fixed64", unknown: []byte{8<<3 | wireFixed64, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := legacyCreatedTimestamp(tc.unknown)
			if got != tc.want || ok != tc.wantOK {
				t.Fatalf("got %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
