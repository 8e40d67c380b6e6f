package remote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/alecthomas/units"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// FuzzDecodeRead feeds arbitrary bodies to DecodeRead, as sent or
// snappy-compressed first so that the fuzzer reaches the protobuf decoder.
// DecodeRead must never panic, every error must wrap exactly one sentinel,
// and an accepted request must hold only valid queries.
func FuzzDecodeRead(f *testing.F) {
	f.Add(mustMarshal(f, sampleRead()), true)
	f.Add(mustMarshal(f, sampleV1()), true)
	f.Add(mustMarshal(f, sampleV2()), true)
	f.Add(compress(f, sampleRead()), false)
	f.Add([]byte{0x0a, 0x04, 0x08, 0x02, 0x10, 0x01}, true) // start 2 > end 1

	cfg := Config{MaxRequestBytes: 64 * units.KiB, MaxDecodedBytes: 256 * units.KiB}
	f.Fuzz(func(t *testing.T, body []byte, doCompress bool) {
		if doCompress {
			body = snappy.Encode(nil, body)
		}
		req, err := DecodeRead(newReadRequest(body, "application/x-protobuf", "snappy"), cfg)
		if err != nil {
			if kinds := sentinelsIn(err); len(kinds) != 1 {
				t.Fatalf("error %q wraps %d sentinels, want exactly one", err, len(kinds))
			}
			return
		}
		if len(req.Queries) == 0 {
			t.Fatal("accepted a request without queries")
		}
		for i, q := range req.Queries {
			if err := validateQuery(q); err != nil {
				t.Fatalf("accepted query %d: %v", i, err)
			}
		}
	})
}

// FuzzChunkedReader reads arbitrary bytes as a streamed response: it must
// never panic nor loop, and must end with io.EOF or an error.
func FuzzChunkedReader(f *testing.F) {
	f.Add(frameOf(marshalFrame(f, 0, "a")), 64)
	f.Add(append(frameOf(marshalFrame(f, 2, "b")), 0x80), 1<<20)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 16)
	f.Fuzz(func(t *testing.T, data []byte, maxFrameBytes int) {
		cr := NewChunkedReader(bytes.NewReader(data), maxFrameBytes%(1<<20))
		for frames := 0; ; frames++ {
			if frames > len(data) {
				t.Fatalf("read %d frames from %d bytes", frames, len(data))
			}
			msg, err := cr.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if kinds := sentinelsIn(err); len(kinds) != 1 {
					t.Fatalf("error %q wraps %d sentinels, want exactly one", err, len(kinds))
				}
				return
			}
			if msg == nil {
				t.Fatal("nil message without error")
			}
		}
	})
}

// FuzzChunkedWriter encodes series derived from arbitrary bytes, 16 bytes a
// sample (timestamp step, value bits), and checks that Prometheus's decoding
// gives back every sample bit for bit, under any frame size.
func FuzzChunkedWriter(f *testing.F) {
	seed := func(samples ...float64) []byte {
		var b []byte
		for i, v := range samples {
			b = binary.LittleEndian.AppendUint64(b, uint64(i*15000+1))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	f.Add(seed(1, 2, 3, math.NaN(), math.Float64frombits(staleNaN), math.Inf(-1)), uint16(100), uint8(0))
	f.Add(bytes.Repeat(seed(0.5, -7), 150), uint16(0), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, maxFrameBytes uint16, query uint8) {
		var in seriesIn
		in.query = int64(query)
		in.labels = lbls("__name__", "fuzz", "q", itoa(int(query)))
		ts := int64(-1 << 40)
		for ; len(data) >= 16; data = data[16:] {
			// A step of at least 1 keeps timestamps strictly increasing.
			ts += int64(binary.LittleEndian.Uint64(data)>>24) + 1
			in.samples = append(in.samples, prompb.Sample{Timestamp: ts, Value: math.Float64frombits(binary.LittleEndian.Uint64(data[8:]))})
		}
		rec := newRecorder()
		writeSeries(t, NewChunkedWriter(rec, int(maxFrameBytes)), []seriesIn{in})
		_, got := promDecode(t, rec.Body.Bytes())
		assertSameSeries(t, got, []seriesIn{in})
	})
}
