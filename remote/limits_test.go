package remote

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// TestWriteRequestLimits: a remote-write request over one of the request
// limits is refused whole with ErrInvalid and a message naming the limit,
// in both protocol versions; one at the limit is decoded.
func TestWriteRequestLimits(t *testing.T) {
	small := Config{MaxRequestBytes: 1 << 20, MaxDecodedBytes: 1 << 20,
		MaxSeriesPerRequest: 2, MaxSamplesPerSeries: 2, MaxLabelsPerSeries: 3, MaxLabelNameLength: 8, MaxLabelValueLength: 5}
	lbls := func(kv ...string) []prompb.Label {
		var l []prompb.Label
		for i := 0; i < len(kv); i += 2 {
			l = append(l, prompb.Label{Name: kv[i], Value: kv[i+1]})
		}
		return l
	}
	one := []prompb.Sample{{Value: 1, Timestamp: 1}}
	for _, tc := range []struct {
		name   string
		series []prompb.TimeSeries
		want   string // "" when within the limits
	}{
		{name: "at every limit", series: []prompb.TimeSeries{
			{Labels: lbls("__name__", "a", "job", "12345"), Samples: []prompb.Sample{{Value: 1, Timestamp: 1}, {Value: 2, Timestamp: 2}}},
			{Labels: lbls("__name__", "b", "abcdefgh", "x", "c", "y"), Samples: one},
		}},
		{name: "series", series: []prompb.TimeSeries{{Labels: lbls("__name__", "a"), Samples: one}, {Labels: lbls("__name__", "b"), Samples: one}, {Labels: lbls("__name__", "c"), Samples: one}},
			want: "3 series, over limits.max_series_per_request (2)"},
		{name: "samples", series: []prompb.TimeSeries{{Labels: lbls("__name__", "a"), Samples: []prompb.Sample{{Timestamp: 1}, {Timestamp: 2}, {Timestamp: 3}}}},
			want: `series 0 "a": 3 samples, over limits.max_samples_per_series (2)`},
		{name: "labels", series: []prompb.TimeSeries{{Labels: lbls("__name__", "a", "b", "1", "c", "2", "d", "3"), Samples: one}},
			want: `series 0: "a": 4 labels, over limits.max_labels_per_series (3)`},
		{name: "name length", series: []prompb.TimeSeries{{Labels: lbls("__name__", "a", "abcdefghi", "1"), Samples: one}},
			want: `series 0: label name "abcdefghi": 9 bytes, over limits.max_label_name_length (8)`},
		{name: "value length", series: []prompb.TimeSeries{{Labels: lbls("__name__", "a", "job", "123456"), Samples: one}},
			want: `series 0: value of label "job": 6 bytes, over limits.max_label_value_length (5)`},
		{name: "series after a series over a limit", series: []prompb.TimeSeries{
			{Labels: lbls("__name__", "a", "b", "1", "c", "2", "d", "3"), Samples: one},
			{Labels: lbls("__name__", "b"), Samples: one}, {Labels: lbls("__name__", "c"), Samples: one}},
			want: "3 series, over limits.max_series_per_request (2)"},
		{name: "the first series over a limit", series: []prompb.TimeSeries{
			{Labels: lbls("__name__", "a"), Samples: one},
			{Labels: lbls("__name__", "b", "job", "123456"), Samples: []prompb.Sample{{Timestamp: 1}, {Timestamp: 2}, {Timestamp: 3}}}},
			want: `series 1 "b": 3 samples, over limits.max_samples_per_series (2)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v1 := &prompb.WriteRequest{Timeseries: tc.series}
			v2 := &writev2.Request{Symbols: []string{""}}
			sym := map[string]uint32{"": 0}
			ref := func(s string) uint32 {
				if r, ok := sym[s]; ok {
					return r
				}
				sym[s] = uint32(len(v2.Symbols))
				v2.Symbols = append(v2.Symbols, s)
				return sym[s]
			}
			for _, s := range tc.series {
				ts := writev2.TimeSeries{}
				for _, l := range s.Labels {
					ts.LabelsRefs = append(ts.LabelsRefs, ref(l.Name), ref(l.Value))
				}
				for _, smp := range s.Samples {
					ts.Samples = append(ts.Samples, writev2.Sample{Value: smp.Value, Timestamp: smp.Timestamp})
				}
				v2.Timeseries = append(v2.Timeseries, ts)
			}
			for _, r := range []struct {
				version string
				body    []byte
				ct      string
			}{{"1.0", compress(t, v1), ContentTypeWriteV1}, {"2.0", compress(t, v2), ContentTypeWriteV2}} {
				req, err := decodeWrite(newWriteRequest(r.body, r.ct), small)
				if tc.want == "" {
					if err != nil {
						t.Fatalf("RW %s: %v", r.version, err)
					}
					if len(req.series) != len(tc.series) {
						t.Errorf("RW %s: %d series decoded, want %d", r.version, len(req.series), len(tc.series))
					}
					req.Release()
					continue
				}
				assertKind(t, err, ErrInvalid)
				if err.Error() != tc.want {
					t.Errorf("RW %s: error %q, want %q", r.version, err, tc.want)
				}
			}
		})
	}
}

// TestReadRequestLimits: a remote-read request over the queries or matchers
// limit is refused with ErrInvalid naming the limit.
func TestReadRequestLimits(t *testing.T) {
	cfg := DefaultConfig
	cfg.MaxQueriesPerRead, cfg.MaxMatchersPerQuery = 1, 1
	for _, tc := range []struct {
		name string
		req  *prompb.ReadRequest
		want string
	}{
		{name: "queries", req: sampleRead(), want: "2 queries, over limits.max_queries_per_read (1)"},
		{name: "matchers", req: &prompb.ReadRequest{Queries: sampleRead().Queries[:1]}, want: "query 0: 2 matchers, over limits.max_matchers_per_query (1)"},
	} {
		_, err := DecodeRead(newReadRequest(compress(t, tc.req), "", "snappy"), cfg)
		assertKind(t, err, ErrInvalid)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := DecodeRead(newReadRequest(compress(t, &prompb.ReadRequest{Queries: sampleRead().Queries[1:]}), "", "snappy"), cfg); err != nil {
		t.Errorf("request at the limits: %v", err)
	}
}
