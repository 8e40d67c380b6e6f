package remote

import (
	"net/http"
	"strings"
	"testing"
)

func TestNegotiateWrite(t *testing.T) {
	for _, tc := range []struct {
		name        string
		contentType []string // nil: header absent
		encoding    []string // nil: header absent
		want        WriteVersion
		wantErr     string
	}{
		{name: "no headers", want: WriteV1},
		{name: "bare protobuf", contentType: []string{"application/x-protobuf"}, want: WriteV1},
		{name: "v1 proto", contentType: []string{"application/x-protobuf;proto=prometheus.WriteRequest"}, want: WriteV1},
		{name: "v1 proto with spaces", contentType: []string{"application/x-protobuf ; proto=prometheus.WriteRequest"}, want: WriteV1},
		{name: "v2 proto", contentType: []string{"application/x-protobuf;proto=io.prometheus.write.v2.Request"}, want: WriteV2},
		{name: "v2 proto with space", contentType: []string{"application/x-protobuf; proto=io.prometheus.write.v2.Request"}, want: WriteV2},
		{name: "v2 upper case", contentType: []string{"APPLICATION/X-PROTOBUF; PROTO=IO.PROMETHEUS.WRITE.V2.REQUEST"}, want: WriteV2},
		{name: "v2 quoted", contentType: []string{`application/x-protobuf;proto="io.prometheus.write.v2.Request"`}, want: WriteV2},
		{name: "extra parameter ignored", contentType: []string{"application/x-protobuf;charset=utf-8;proto=io.prometheus.write.v2.Request"}, want: WriteV2},
		{name: "empty content type", contentType: []string{""}, want: WriteV1},
		{name: "snappy encoding", encoding: []string{"snappy"}, want: WriteV1},
		{name: "snappy upper case", encoding: []string{"SNAPPY"}, want: WriteV1},
		{name: "empty encoding", encoding: []string{""}, want: WriteV1},
		{name: "wrong media type", contentType: []string{"application/json"}, wantErr: `unsupported Content-Type "application/json": expected application/x-protobuf`},
		{name: "unknown proto", contentType: []string{"application/x-protobuf;proto=io.prometheus.write.v3.Request"}, wantErr: `unsupported Content-Type "application/x-protobuf;proto=io.prometheus.write.v3.Request": proto must be prometheus.WriteRequest or io.prometheus.write.v2.Request`},
		{name: "read request proto", contentType: []string{"application/x-protobuf;proto=prometheus.ReadRequest"}, wantErr: "proto must be"},
		{name: "malformed content type", contentType: []string{"application/x-protobuf;proto"}, wantErr: `cannot parse Content-Type "application/x-protobuf;proto"`},
		{name: "gzip", encoding: []string{"gzip"}, wantErr: `unsupported Content-Encoding "gzip": only snappy is supported`},
		{name: "zstd", encoding: []string{"zstd"}, wantErr: `unsupported Content-Encoding "zstd": only snappy is supported`},
		{name: "stacked encodings", encoding: []string{"snappy, gzip"}, wantErr: `unsupported Content-Encoding "snappy, gzip"`},
		{name: "repeated header", encoding: []string{"snappy", "snappy"}, wantErr: `unsupported Content-Encoding "snappy, snappy"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.contentType {
				h.Add("Content-Type", v)
			}
			for _, v := range tc.encoding {
				h.Add("Content-Encoding", v)
			}
			got, err := NegotiateWrite(h)
			if tc.wantErr != "" {
				assertKind(t, err, ErrUnsupported)
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got version %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWriteVersionString(t *testing.T) {
	for v, want := range map[WriteVersion]string{WriteV1: "1.0", WriteV2: "2.0", 0: "unknown"} {
		if got := v.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(v), got, want)
		}
	}
}
