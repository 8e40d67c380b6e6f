package remote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/alecthomas/units"
	"github.com/golang/snappy"
)

func TestDecodeWriteLimits(t *testing.T) {
	body := compress(t, sampleV1())
	size := units.Base2Bytes(len(body))
	for _, tc := range []struct {
		name      string
		hideLen   bool
		maxReq    units.Base2Bytes
		wantKind  error
		wantInMsg string
	}{
		{name: "at the limit", maxReq: size},
		{name: "at the limit without Content-Length", maxReq: size, hideLen: true},
		{name: "over the limit by Content-Length", maxReq: size - 1, wantKind: ErrTooLarge,
			wantInMsg: "request body of " + itoa(len(body)) + " bytes exceeds limits.max_request_bytes (" + itoa(len(body)-1) + ")"},
		{name: "over the limit without Content-Length", maxReq: size - 1, hideLen: true, wantKind: ErrTooLarge,
			wantInMsg: "request body exceeds limits.max_request_bytes (" + itoa(len(body)-1) + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newWriteRequest(body, "")
			if tc.hideLen {
				r = httptest.NewRequest(http.MethodPost, "/api/v1/write", streamed{bytes.NewReader(body)})
				if r.ContentLength != -1 {
					t.Fatalf("test request still has Content-Length %d", r.ContentLength)
				}
			}
			cfg := Config{MaxRequestBytes: tc.maxReq, MaxDecodedBytes: DefaultConfig.MaxDecodedBytes}
			got, err := decodeWrite(r, cfg)
			if tc.wantKind == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(got.series) != 1 {
					t.Fatalf("got %d series, want 1", len(got.series))
				}
				return
			}
			assertKind(t, err, tc.wantKind)
			if err.Error() != tc.wantInMsg {
				t.Fatalf("error %q, want %q", err, tc.wantInMsg)
			}
		})
	}
}

func TestDecodeWriteContentLengthCheckedBeforeReading(t *testing.T) {
	// The body errors on the first read: only a refusal based on the header
	// alone yields ErrTooLarge.
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", iotest.ErrReader(errors.New("must not be read")))
	r.ContentLength = 1 << 30
	_, err := decodeWrite(r, DefaultConfig)
	assertKind(t, err, ErrTooLarge)
}

func TestDecodeWriteDecodedLimit(t *testing.T) {
	raw, err := sampleV1().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	body := snappy.Encode(nil, raw)
	for _, tc := range []struct {
		name       string
		maxDecoded units.Base2Bytes
		wantErr    string
	}{
		{name: "at the limit", maxDecoded: units.Base2Bytes(len(raw))},
		{name: "over the limit", maxDecoded: units.Base2Bytes(len(raw) - 1),
			wantErr: "decoded body of " + itoa(len(raw)) + " bytes exceeds limits.max_decoded_bytes (" + itoa(len(raw)-1) + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{MaxRequestBytes: DefaultConfig.MaxRequestBytes, MaxDecodedBytes: tc.maxDecoded}
			_, err := decodeWrite(newWriteRequest(body, ""), cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			assertKind(t, err, ErrInvalid)
			if err.Error() != tc.wantErr {
				t.Fatalf("error %q, want %q", err, tc.wantErr)
			}
		})
	}
}

// A body of a few bytes whose snappy header announces 200 MB must be refused
// from the header alone, without allocating anything near that size.
func TestDecodeWriteSnappyBombFailsFast(t *testing.T) {
	bomb := binary.AppendUvarint(nil, 200_000_000)
	bomb = append(bomb, 0x00, 'x')

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := decodeWrite(newWriteRequest(bomb, ""), DefaultConfig)
	runtime.ReadMemStats(&after)

	assertKind(t, err, ErrInvalid)
	if want := "decoded body of 200000000 bytes exceeds limits.max_decoded_bytes (67108864)"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
		t.Fatalf("refusing the bomb allocated %d bytes", allocated)
	}
}

func TestDecodeWriteCorruptBody(t *testing.T) {
	valid := compress(t, sampleV1())
	for _, tc := range []struct {
		name    string
		body    []byte
		wantErr string
	}{
		{name: "empty body", body: nil, wantErr: "empty request body"},
		{name: "bad snappy header", body: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, wantErr: "cannot decode snappy block header of 6-byte body"},
		{name: "truncated snappy", body: valid[:len(valid)-3], wantErr: "cannot decode snappy body of"},
		{name: "snappy framed format", body: framed(t, []byte("hello")), wantErr: "snappy"},
		{name: "uncompressed protobuf", body: mustMarshal(t, sampleV1()), wantErr: "snappy"},
		{name: "garbage protobuf", body: snappy.Encode(nil, []byte{0x0a, 0xff, 0x01}), wantErr: "cannot unmarshal prometheus.WriteRequest from 3 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeWrite(newWriteRequest(tc.body, ""), DefaultConfig)
			assertKind(t, err, ErrInvalid)
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q spans several lines", err)
			}
		})
	}
}

// A body that stops arriving (a broken connection, the server's read
// timeout) is incomplete, not invalid: the sender may send it again.
func TestDecodeWriteReadError(t *testing.T) {
	cause := errors.New("connection reset by peer")
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", iotest.ErrReader(cause))
	r.ContentLength = -1
	_, err := decodeWrite(r, DefaultConfig)
	assertKind(t, err, ErrIncomplete)
	if !errors.Is(err, cause) {
		t.Fatalf("error %q does not wrap the read error", err)
	}
}

func framed(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := snappy.NewBufferedWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustMarshal(t testing.TB, m marshaler) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBodyBuffersApart: a remote-write body read after a decoded body was
// released does not get the decoded body's buffer, many times its size.
// (Without the race detector, sync.Pool hands back what this goroutine
// just put, so a shared pool would fail this every time.)
func TestBodyBuffersApart(t *testing.T) {
	decodedBuffers.put(make([]byte, 0, 1<<20))
	answerBuffers.put(make([]byte, 0, 1<<20))
	buf, _, err := readLimited(bytes.NewReader(make([]byte, 1000)), 1000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer compressedBuffers.put(buf)
	if cap(buf) >= 1<<20 {
		t.Fatalf("a 1000-byte body got a buffer of %d bytes", cap(buf))
	}
}

// TestDecodedBufferTooSmallDropped: a pooled buffer too small for a body
// is not put back, so that the pool does not gather one for every body
// larger than the buffer it handed out.
func TestDecodedBufferTooSmallDropped(t *testing.T) {
	for decodedBuffers.get() != nil {
	}
	decodedBuffers.put(make([]byte, 0, 100))
	decoded, err := decodeSnappy(snappy.Encode(nil, make([]byte, 1000)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	decodedBuffers.put(decoded)
	for b := decodedBuffers.get(); b != nil; b = decodedBuffers.get() {
		if cap(b) < 1000 {
			t.Fatalf("the pool kept a buffer of %d bytes, too small for the body of 1000 it was handed out for", cap(b))
		}
	}
}
