package remote

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

func TestNegotiateReadResponse(t *testing.T) {
	const (
		samples  = prompb.ReadRequest_SAMPLES
		streamed = prompb.ReadRequest_STREAMED_XOR_CHUNKS
	)
	for _, tc := range []struct {
		name     string
		accepted []prompb.ReadRequest_ResponseType
		want     prompb.ReadRequest_ResponseType
		wantErr  string
	}{
		{name: "as Prometheus sends it", accepted: []prompb.ReadRequest_ResponseType{streamed, samples}, want: streamed},
		{name: "samples first", accepted: []prompb.ReadRequest_ResponseType{samples, streamed}, want: samples},
		{name: "empty means samples", want: samples},
		{name: "only streamed", accepted: []prompb.ReadRequest_ResponseType{streamed}, want: streamed},
		{name: "unknown skipped", accepted: []prompb.ReadRequest_ResponseType{9, streamed}, want: streamed},
		{name: "only unknown", accepted: []prompb.ReadRequest_ResponseType{9, 12},
			wantErr: "none of the accepted response types [9, 12] is supported; supported: SAMPLES, STREAMED_XOR_CHUNKS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NegotiateReadResponse(tc.accepted)
			if tc.wantErr != "" {
				assertKind(t, err, ErrInvalid)
				if err.Error() != tc.wantErr {
					t.Fatalf("error %q, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("negotiated %v, want %v", got, tc.want)
			}
		})
	}
}

func sampleReadResponse() *prompb.ReadResponse {
	return &prompb.ReadResponse{Results: []*prompb.QueryResult{
		{Timeseries: []*prompb.TimeSeries{
			{
				Labels:  []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "node"}},
				Samples: []prompb.Sample{{Value: 1, Timestamp: 1000}, {Value: math.Inf(-1), Timestamp: 2000}},
			},
			{
				Labels:  []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "prometheus"}, {Name: "empty", Value: ""}},
				Samples: []prompb.Sample{{Value: 0, Timestamp: -5}, {Value: math.Copysign(0, -1), Timestamp: 0}},
			},
			{
				Labels:  []prompb.Label{{Name: "__name__", Value: "rpc_seconds"}},
				Samples: []prompb.Sample{{Value: 2, Timestamp: 1}},
				Histograms: []prompb.Histogram{
					{Count: &prompb.Histogram_CountInt{CountInt: 3}, Sum: 1.5, Schema: 1, PositiveSpans: []prompb.BucketSpan{{Offset: 0, Length: 2}}, PositiveDeltas: []int64{1, 1}, Timestamp: 10},
					{Count: &prompb.Histogram_CountFloat{CountFloat: 2.5}, ZeroThreshold: 1e-9, Timestamp: 20},
				},
			},
		}},
		{}, // a query without matches still has its result
	}}
}

// writeSamples feeds resp to a SamplesWriter and answers with it.
func writeSamples(t testing.TB, rw http.ResponseWriter, resp *prompb.ReadResponse) error {
	var w SamplesWriter
	for _, r := range resp.Results {
		w.StartResult()
		for _, ts := range r.Timeseries {
			w.StartSeries(ts.Labels)
			for _, s := range ts.Samples {
				w.Append(s.Timestamp, s.Value)
			}
			for i := range ts.Histograms {
				h := ts.Histograms[i]
				if err := w.AppendHistogram(h.Timestamp, &h); err != nil {
					t.Fatal(err)
				}
			}
			w.EndSeries()
		}
		w.EndResult()
	}
	return w.WriteTo(rw)
}

// withoutEmptySeries is resp without its series of no samples, which a
// SamplesWriter leaves out.
func withoutEmptySeries(resp *prompb.ReadResponse) *prompb.ReadResponse {
	out := &prompb.ReadResponse{}
	for _, r := range resp.Results {
		qr := &prompb.QueryResult{}
		for _, ts := range r.Timeseries {
			if len(ts.Samples)+len(ts.Histograms) > 0 {
				qr.Timeseries = append(qr.Timeseries, ts)
			}
		}
		out.Results = append(out.Results, qr)
	}
	return out
}

// TestSamplesWriter: a SamplesWriter writes, byte for byte, what the
// generated code marshals for the same response (less series without
// samples), snappy-compressed, with the headers Prometheus expects.
func TestSamplesWriter(t *testing.T) {
	cases := []struct {
		name string
		resp *prompb.ReadResponse
	}{
		{name: "two queries", resp: sampleReadResponse()},
		{name: "empty", resp: &prompb.ReadResponse{Results: []*prompb.QueryResult{{}}}},
		{name: "series without samples", resp: &prompb.ReadResponse{Results: []*prompb.QueryResult{{Timeseries: []*prompb.TimeSeries{{Labels: []prompb.Label{{Name: "a", Value: "b"}}}}}}}},
	}
	r := rand.New(rand.NewSource(3))
	// Several compressed pieces: about 3 MiB of samples in two queries,
	// a series across pieces among them.
	large := &prompb.ReadResponse{}
	for q, series := range []int{40, 3} {
		qr := &prompb.QueryResult{}
		for i := range series {
			ts := &prompb.TimeSeries{Labels: []prompb.Label{{Name: "q", Value: strconv.Itoa(q)}, {Name: "i", Value: strconv.Itoa(i)}}}
			for k := range 2000 + 40000*(q) {
				ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: 1_700_000_000_000 + int64(k)*15000, Value: float64(r.Intn(100))})
			}
			qr.Timeseries = append(qr.Timeseries, ts)
		}
		large.Results = append(large.Results, qr)
	}
	cases = append(cases, struct {
		name string
		resp *prompb.ReadResponse
	}{name: "several pieces", resp: large})
	for i := range 200 {
		cases = append(cases, struct {
			name string
			resp *prompb.ReadResponse
		}{name: fmt.Sprintf("random %d", i), resp: randomResponse(r)})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := writeSamples(t, rec, tc.resp); err != nil {
				t.Fatal(err)
			}
			res := rec.Result()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			for h, want := range map[string]string{
				"Content-Type":     "application/x-protobuf",
				"Content-Encoding": "snappy",
				"Content-Length":   strconv.Itoa(rec.Body.Len()),
			} {
				if got := res.Header.Get(h); got != want {
					t.Errorf("%s %q, want %q", h, got, want)
				}
			}
			raw, err := snappy.Decode(nil, rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			want, err := withoutEmptySeries(tc.resp).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, want) {
				t.Fatalf("wrote\n%x\nthe generated code marshals\n%x", raw, want)
			}
			if _, err := DecodeReadResponse(rec.Body.Bytes()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// failingWriter is a ResponseWriter whose client has gone away.
type failingWriter struct {
	header  http.Header
	status  int
	flushes int
}

var errClientGone = errors.New("connection reset by peer")

func (f *failingWriter) Header() http.Header {
	if f.header == nil {
		f.header = http.Header{}
	}
	return f.header
}
func (f *failingWriter) WriteHeader(code int)      { f.status = code }
func (f *failingWriter) Write([]byte) (int, error) { return 0, errClientGone }
func (f *failingWriter) Flush()                    { f.flushes++ }

func TestSamplesWriterClientGone(t *testing.T) {
	err := writeSamples(t, &failingWriter{}, sampleReadResponse())
	if !errors.Is(err, errClientGone) {
		t.Fatalf("error %v, want it to wrap %v", err, errClientGone)
	}
}

func TestDecodeReadResponseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, wantErr string
		body          []byte
	}{
		{name: "not snappy", body: []byte("\x10\x00abc"), wantErr: "cannot decode snappy read response of 5 bytes"},
		{name: "not protobuf", body: snappy.Encode(nil, []byte{0x0a, 0x09, 0x0a}), wantErr: "cannot unmarshal read response from 3 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeReadResponse(tc.body)
			assertKind(t, err, ErrInvalid)
			if !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("error %q, want prefix %q", err, tc.wantErr)
			}
		})
	}
}

// Reused pooled buffers must not leak one response into the next.
func TestSamplesWriterReusesBuffers(t *testing.T) {
	big := sampleReadResponse()
	small := &prompb.ReadResponse{Results: []*prompb.QueryResult{{}}}
	for i, resp := range []*prompb.ReadResponse{big, small, big} {
		rec := httptest.NewRecorder()
		if err := writeSamples(t, rec, resp); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeReadResponse(rec.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Results) != len(resp.Results) || got.Size() != resp.Size() {
			t.Fatalf("response %d: got %+v, want %+v", i, got, resp)
		}
	}
}
