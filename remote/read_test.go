package remote

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/units"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// sampleRead is a read request like the one Prometheus sends for two selectors.
func sampleRead() *prompb.ReadRequest {
	return &prompb.ReadRequest{
		Queries: []*prompb.Query{
			{
				StartTimestampMs: 1700000000000, EndTimestampMs: 1700000300000,
				Matchers: []*prompb.LabelMatcher{
					{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: "up"},
					{Type: prompb.LabelMatcher_RE, Name: "job", Value: "node|prom.*"},
				},
				Hints: &prompb.ReadHints{StepMs: 15000, Func: "rate", StartMs: 1700000000000, EndMs: 1700000300000},
			},
			{
				StartTimestampMs: 5, EndTimestampMs: 5,
				Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_NRE, Name: "instance", Value: ""}},
			},
		},
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS, prompb.ReadRequest_SAMPLES},
	}
}

// newReadRequest builds a POST to the read endpoint; empty header values are
// left out.
func newReadRequest(body []byte, contentType, encoding string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/read", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if encoding != "" {
		r.Header.Set("Content-Encoding", encoding)
	}
	return r
}

func TestDecodeRead(t *testing.T) {
	good := compress(t, sampleRead())
	withQuery := func(q *prompb.Query) []byte {
		return compress(t, &prompb.ReadRequest{Queries: []*prompb.Query{sampleRead().Queries[0], q}})
	}
	small := Config{MaxRequestBytes: 64, MaxDecodedBytes: 256}

	for _, tc := range []struct {
		name        string
		body        []byte
		contentType string
		encoding    string
		cfg         Config
		wantKind    error
		wantErr     string
	}{
		{name: "as Prometheus sends it", body: good, contentType: "application/x-protobuf", encoding: "snappy"},
		{name: "no headers", body: good},
		{name: "proto parameter", body: good, contentType: "application/x-protobuf; proto=prometheus.ReadRequest", encoding: "SNAPPY"},
		{name: "start equals end", body: withQuery(&prompb.Query{StartTimestampMs: 7, EndTimestampMs: 7})},

		{name: "gzip", body: good, encoding: "gzip", wantKind: ErrUnsupported, wantErr: `unsupported Content-Encoding "gzip": only snappy is supported`},
		{name: "json", body: good, contentType: "application/json", wantKind: ErrUnsupported, wantErr: `unsupported Content-Type "application/json": expected application/x-protobuf`},
		{name: "unparsable content type", body: good, contentType: "application/x-protobuf; proto", wantKind: ErrUnsupported, wantErr: "cannot parse Content-Type"},
		{name: "unknown proto", body: good, contentType: "application/x-protobuf;proto=prometheus.Other", wantKind: ErrUnsupported, wantErr: "proto must be prometheus.ReadRequest"},
		{name: "write v1 content type", body: compress(t, sampleV1()), contentType: ContentTypeWriteV1, wantKind: ErrInvalid,
			wantErr: `Content-Type "application/x-protobuf;proto=prometheus.WriteRequest" is a remote-write request; send it to /api/v1/write`},
		{name: "write v2 content type", body: compress(t, sampleV2()), contentType: ContentTypeWriteV2, wantKind: ErrInvalid,
			wantErr: "is a remote-write request; send it to /api/v1/write"},

		{name: "write v1 body", body: compress(t, sampleV1()), contentType: "application/x-protobuf", encoding: "snappy", wantKind: ErrInvalid,
			wantErr: "this is a remote-write request; send it to /api/v1/write"},
		{name: "write v2 body", body: compress(t, sampleV2()), wantKind: ErrInvalid,
			wantErr: "this is a remote-write request; send it to /api/v1/write"},
		{name: "metadata-only write body", body: compress(t, &prompb.WriteRequest{Metadata: []prompb.MetricMetadata{{MetricFamilyName: "up", Type: prompb.MetricMetadata_GAUGE}}}),
			wantKind: ErrInvalid, wantErr: "this is a remote-write request; send it to /api/v1/write"},

		{name: "body over limit", body: good, cfg: Config{MaxRequestBytes: 16, MaxDecodedBytes: units.MiB}, wantKind: ErrTooLarge, wantErr: "exceeds limits.max_request_bytes (16)"},
		{name: "decoded over limit", body: snappy.Encode(nil, make([]byte, 1000)), cfg: small, wantKind: ErrInvalid, wantErr: "decoded body of 1000 bytes exceeds limits.max_decoded_bytes (256)"},
		{name: "empty body", body: nil, wantKind: ErrInvalid, wantErr: "empty request body"},
		{name: "not snappy", body: []byte("\x10\x00not snappy"), wantKind: ErrInvalid, wantErr: "cannot decode snappy"},
		{name: "not protobuf", body: snappy.Encode(nil, []byte{0x0a, 0x7f, 0x01}), wantKind: ErrInvalid, wantErr: "cannot unmarshal prometheus.ReadRequest from 3 bytes"},
		{name: "no queries", body: compress(t, &prompb.ReadRequest{AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES}}),
			wantKind: ErrInvalid, wantErr: "read request of 3 bytes holds no queries"},
		{name: "start after end", body: withQuery(&prompb.Query{StartTimestampMs: 2000, EndTimestampMs: 1000}),
			wantKind: ErrInvalid, wantErr: "query 1: start 2000 ms is after end 1000 ms"},
		{name: "unknown matcher type", body: withQuery(&prompb.Query{Matchers: []*prompb.LabelMatcher{
			{Type: prompb.LabelMatcher_EQ, Name: "job", Value: "x"}, {Type: 7, Name: "mode", Value: "idle"},
		}}), wantKind: ErrInvalid, wantErr: `query 1: matcher 1 on label "mode" has unknown type 7`},
		{name: "empty label name", body: withQuery(&prompb.Query{Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_RE, Value: "a.*"}}}),
			wantKind: ErrInvalid, wantErr: `query 1: matcher 0 (RE "a.*") has an empty label name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg == (Config{}) {
				cfg = DefaultConfig
			}
			got, err := DecodeRead(newReadRequest(tc.body, tc.contentType, tc.encoding), cfg)
			if tc.wantKind == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				want := &prompb.ReadRequest{}
				raw, _ := snappy.Decode(nil, tc.body)
				if err := want.Unmarshal(raw); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("decoded %+v, want %+v", got, want)
				}
				return
			}
			assertKind(t, err, tc.wantKind)
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q, want it to contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q spans several lines", err)
			}
		})
	}
}

// A read request sent to the write endpoint is told where to go, whichever
// content type it declares a write for; Prometheus's read client declares
// none.
func TestDecodeWriteGetsReadRequest(t *testing.T) {
	body := compress(t, sampleRead())
	for _, ct := range []string{"", "application/x-protobuf", ContentTypeWriteV1, ContentTypeWriteV2} {
		t.Run(ct, func(t *testing.T) {
			_, err := decodeWrite(newWriteRequest(body, ct), DefaultConfig)
			assertKind(t, err, ErrInvalid)
			if want := "this is a remote-read request; send it to /api/v1/read"; err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		})
	}
}

func TestDecodeReadStreamedBody(t *testing.T) {
	body := compress(t, sampleRead())
	for _, tc := range []struct {
		name    string
		limit   units.Base2Bytes
		wantErr bool
	}{
		{name: "at limit", limit: units.Base2Bytes(len(body))},
		{name: "one byte over", limit: units.Base2Bytes(len(body) - 1), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/read", streamed{bytes.NewReader(body)})
			r.ContentLength = -1
			_, err := DecodeRead(r, Config{MaxRequestBytes: tc.limit, MaxDecodedBytes: units.MiB})
			if tc.wantErr {
				assertKind(t, err, ErrTooLarge)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
