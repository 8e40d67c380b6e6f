package remote

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alecthomas/units"
	"github.com/golang/snappy"
)

// FuzzDecodeWrite feeds arbitrary bodies to the decoder as both versions,
// either as sent or snappy-compressed first (so that the fuzzer reaches the
// protobuf decoders instead of stalling at snappy). Decoding must never
// panic, every error must wrap exactly one sentinel, and a successful decode
// must hold only resolvable data.
func FuzzDecodeWrite(f *testing.F) {
	f.Add(mustMarshal(f, sampleV1()), false, true)
	f.Add(mustMarshal(f, sampleV2()), true, true)
	f.Add(mustMarshal(f, sampleV2()), false, true)
	f.Add(compress(f, sampleV1()), false, false)
	f.Add(compress(f, sampleV2()), true, false)
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0x00}, true, false)

	cfg := Config{MaxRequestBytes: 64 * units.KiB, MaxDecodedBytes: 256 * units.KiB}
	f.Fuzz(func(t *testing.T, body []byte, v2, doCompress bool) {
		if doCompress {
			body = snappy.Encode(nil, body)
		}
		r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
		if v2 {
			r.Header.Set("Content-Type", ContentTypeWriteV2)
		}
		req, err := decodeWrite(r, cfg)
		if err != nil {
			if kinds := sentinelsIn(err); len(kinds) != 1 {
				t.Fatalf("error %q wraps %d sentinels, want exactly one", err, len(kinds))
			}
			return
		}
		if want := map[bool]WriteVersion{false: WriteV1, true: WriteV2}[v2]; req.Version != want {
			t.Fatalf("decoded version %v, want %v", req.Version, want)
		}
		s, h, e := counts(req)
		if s < 0 || h < 0 || e < 0 {
			t.Fatalf("negative counts %d, %d, %d", s, h, e)
		}
	})
}
