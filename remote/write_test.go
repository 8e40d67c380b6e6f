package remote

import (
	"reflect"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

func TestDecodeWriteV1(t *testing.T) {
	in := &prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{
			{
				// Deliberately unsorted: the view keeps the order sent.
				Labels:    []prompb.Label{{Name: "job", Value: "node"}, {Name: "__name__", Value: "node_cpu_seconds_total"}, {Name: "cpu", Value: "0"}},
				Samples:   []prompb.Sample{{Value: 1.5, Timestamp: 1000}, {Value: 2.5, Timestamp: 2000}},
				Exemplars: []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "abc"}}, Value: 1.5, Timestamp: 1000}},
			},
			{
				Labels:     []prompb.Label{{Name: "__name__", Value: "rpc_duration_seconds"}},
				Histograms: []prompb.Histogram{{Count: &prompb.Histogram_CountInt{CountInt: 3}, Sum: 1.5, Schema: 2, Timestamp: 3000, PositiveSpans: []prompb.BucketSpan{{Offset: 0, Length: 1}}, PositiveDeltas: []int64{3}}},
			},
		},
		Metadata: []prompb.MetricMetadata{{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "node_cpu_seconds_total", Help: "Seconds the CPUs spent in each mode.", Unit: "seconds"}},
	}
	for _, contentType := range []string{"", "application/x-protobuf", ContentTypeWriteV1} {
		t.Run("content type "+contentType, func(t *testing.T) {
			got, err := decodeWrite(newWriteRequest(compress(t, in), contentType), DefaultConfig)
			if err != nil {
				t.Fatal(err)
			}
			want := &WriteRequest{
				Version: WriteV1,
				series: []Series{
					{Labels: in.Timeseries[0].Labels, Samples: in.Timeseries[0].Samples, Exemplars: in.Timeseries[0].Exemplars},
					{Labels: in.Timeseries[1].Labels, Histograms: in.Timeseries[1].Histograms},
				},
				Metadata: in.Metadata,
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
			if s, h, e := counts(got); s != 2 || h != 1 || e != 1 {
				t.Fatalf("Counts() = %d, %d, %d; want 2, 1, 1", s, h, e)
			}
		})
	}
}

func TestDecodeWriteEmptyRequests(t *testing.T) {
	for _, tc := range []struct {
		name        string
		body        []byte
		contentType string
		want        WriteVersion
	}{
		{name: "v1 empty message", body: snappy.Encode(nil, nil), want: WriteV1},
		{name: "v2 empty message", body: snappy.Encode(nil, nil), contentType: ContentTypeWriteV2, want: WriteV2},
		{name: "v2 symbols only", body: compress(t, sampleV2WithoutSeries()), contentType: ContentTypeWriteV2, want: WriteV2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeWrite(newWriteRequest(tc.body, tc.contentType), DefaultConfig)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tc.want || len(got.series) != 0 {
				t.Fatalf("got version %v with %d series, want %v with none", got.Version, len(got.series), tc.want)
			}
		})
	}
}

func TestDecodeWriteMisdirected(t *testing.T) {
	read := &prompb.ReadRequest{Queries: []*prompb.Query{{
		StartTimestampMs: 1000, EndTimestampMs: 2000,
		Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: "up"}},
	}}}
	for _, tc := range []struct {
		name        string
		body        []byte
		contentType string
		wantErr     string
	}{
		{name: "v2 body with v1 content type", body: compress(t, sampleV2()), contentType: ContentTypeWriteV1,
			wantErr: "body looks like a Remote-Write 2.0 request sent with the 1.0 content type; send it with Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request"},
		{name: "v2 body without content type", body: compress(t, sampleV2()),
			wantErr: "body looks like a Remote-Write 2.0 request sent with the 1.0 content type"},
		{name: "v1 body with v2 content type", body: compress(t, sampleV1()), contentType: ContentTypeWriteV2,
			wantErr: "body looks like a Remote-Write 1.0 request sent with the 2.0 content type; send it with Content-Type: application/x-protobuf;proto=prometheus.WriteRequest"},
		{name: "read request as v1", body: compress(t, read), contentType: ContentTypeWriteV1,
			wantErr: "this is a remote-read request; send it to /api/v1/read"},
		{name: "read request as v2", body: compress(t, read), contentType: ContentTypeWriteV2,
			wantErr: "this is a remote-read request; send it to /api/v1/read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeWrite(newWriteRequest(tc.body, tc.contentType), DefaultConfig)
			assertKind(t, err, ErrInvalid)
			if !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("error %q, want prefix %q", err, tc.wantErr)
			}
		})
	}
}

// Fields a newer sender may add must not be mistaken for a wrong message
// when the request carries series.
func TestDecodeWriteV1UnknownFieldsWithSeries(t *testing.T) {
	in := sampleV1()
	in.XXX_unrecognized = []byte{0x20, 0x01} // field 4, varint 1
	got, err := decodeWrite(newWriteRequest(compress(t, in), ""), DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.series) != 1 || got.series[0].Labels[0].Value != "up" {
		t.Fatalf("unexpected result %+v", got)
	}
}
