package remote

import (
	"errors"
	"math"
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
				Labels:  []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "prometheus"}},
				Samples: []prompb.Sample{{Value: 0, Timestamp: -5}},
			},
		}},
		{}, // a query without matches still has its result
	}}
}

func TestWriteReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp *prompb.ReadResponse
	}{
		{name: "two queries", resp: sampleReadResponse()},
		{name: "empty", resp: &prompb.ReadResponse{Results: []*prompb.QueryResult{{}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := WriteReadResponse(rec, tc.resp); err != nil {
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
			got, err := DecodeReadResponse(rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			// Compare through the wire form: an empty QueryResult decodes
			// with nil instead of empty slices.
			wantRaw, _ := tc.resp.Marshal()
			gotRaw, _ := got.Marshal()
			if string(gotRaw) != string(wantRaw) || len(got.Results) != len(tc.resp.Results) {
				t.Fatalf("round trip gave %+v, want %+v", got, tc.resp)
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

func TestWriteReadResponseClientGone(t *testing.T) {
	err := WriteReadResponse(&failingWriter{}, sampleReadResponse())
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
func TestWriteReadResponseReusesBuffers(t *testing.T) {
	big := sampleReadResponse()
	small := &prompb.ReadResponse{Results: []*prompb.QueryResult{{}}}
	for i, resp := range []*prompb.ReadResponse{big, small, big} {
		rec := httptest.NewRecorder()
		if err := WriteReadResponse(rec, resp); err != nil {
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
