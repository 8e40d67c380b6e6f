package remote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

// frameOf frames msg as Prometheus does: uvarint length, big-endian CRC32
// (Castagnoli), message.
func frameOf(msg []byte) []byte {
	out := binary.AppendUvarint(nil, uint64(len(msg)))
	out = binary.BigEndian.AppendUint32(out, crc32.Checksum(msg, crc32.MakeTable(crc32.Castagnoli)))
	return append(out, msg...)
}

func marshalFrame(t testing.TB, query int64, name string) []byte {
	t.Helper()
	msg := prompb.ChunkedReadResponse{QueryIndex: query, ChunkedSeries: []*prompb.ChunkedSeries{{
		Labels: []prompb.Label{{Name: "__name__", Value: name}},
		Chunks: []prompb.Chunk{{MinTimeMs: 1, MaxTimeMs: 1, Type: prompb.Chunk_XOR, Data: []byte{0, 1, 2, 3}}},
	}}}
	raw, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestChunkedReader(t *testing.T) {
	first, second := marshalFrame(t, 0, "a"), marshalFrame(t, 3, "b")
	stream := append(frameOf(first), frameOf(second)...)
	corrupt := bytes.Clone(stream)
	corrupt[len(frameOf(first))+7] ^= 0x40 // a bit of the second message

	for _, tc := range []struct {
		name          string
		in            io.Reader
		maxFrameBytes int
		wantNames     []string // series names of the frames read before the error
		wantKind      error    // nil: io.EOF at the end
		wantErr       string
	}{
		{name: "empty stream", in: bytes.NewReader(nil)},
		{name: "two frames", in: bytes.NewReader(stream), wantNames: []string{"a", "b"}},
		{name: "frame at the size limit", in: bytes.NewReader(stream), maxFrameBytes: len(second), wantNames: []string{"a", "b"}},
		{name: "frame over the size limit", in: bytes.NewReader(stream), maxFrameBytes: len(second) - 1, wantNames: []string{"a"}, wantKind: ErrTooLarge,
			wantErr: "frame 1 of " + itoa(len(second)) + " bytes exceeds the limit of " + itoa(len(second)-1) + " bytes"},
		{name: "checksum mismatch", in: bytes.NewReader(corrupt), wantNames: []string{"a"}, wantKind: ErrInvalid, wantErr: "frame 1 of " + itoa(len(second)) + " bytes is corrupt: CRC32"},
		{name: "truncated length", in: bytes.NewReader([]byte{0x80}), wantKind: ErrInvalid, wantErr: "cannot read length of frame 0: stream ends early: unexpected EOF"},
		{name: "truncated checksum", in: bytes.NewReader(stream[:len(frameOf(first))+3]), wantNames: []string{"a"}, wantKind: ErrInvalid,
			wantErr: "cannot read checksum of frame 1: stream ends early"},
		{name: "truncated message", in: bytes.NewReader(stream[:len(stream)-1]), wantNames: []string{"a"}, wantKind: ErrInvalid,
			wantErr: "cannot read " + itoa(len(second)) + "-byte message of frame 1: stream ends early"},
		{name: "overflowing length", in: bytes.NewReader(bytes.Repeat([]byte{0xff}, 11)), wantKind: ErrInvalid, wantErr: "length of frame 0 overflows 64 bits"},
		{name: "not a ChunkedReadResponse", in: bytes.NewReader(frameOf([]byte{0x0a, 0x05, 0x01})), wantKind: ErrInvalid, wantErr: "cannot unmarshal frame 0 of 3 bytes"},
		{name: "reader fails", in: &failingReader{data: frameOf(first), err: errClientGone}, wantNames: []string{"a"},
			wantErr: "cannot read length of frame 1: connection reset by peer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := NewChunkedReader(tc.in, tc.maxFrameBytes)
			var names []string
			var err error
			for {
				var msg *prompb.ChunkedReadResponse
				if msg, err = cr.Next(); err != nil {
					break
				}
				names = append(names, msg.ChunkedSeries[0].Labels[0].Value)
			}
			if strings.Join(names, ",") != strings.Join(tc.wantNames, ",") {
				t.Fatalf("read frames %v, want %v", names, tc.wantNames)
			}
			switch {
			case tc.wantErr == "":
				if err != io.EOF {
					t.Fatalf("error %v, want io.EOF unwrapped", err)
				}
				return
			case tc.wantKind == nil:
				if len(sentinelsIn(err)) != 0 || !errors.Is(err, errClientGone) {
					t.Fatalf("error %q: want the reader's error without a sentinel", err)
				}
			default:
				assertKind(t, err, tc.wantKind)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// Messages returned by Next must survive the next call, which reuses the
// reader's buffer.
func TestChunkedReaderDoesNotAlias(t *testing.T) {
	stream := append(frameOf(marshalFrame(t, 0, "first")), frameOf(marshalFrame(t, 0, "other"))...)
	cr := NewChunkedReader(bytes.NewReader(stream), 0)
	a, err := cr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cr.Next(); err != nil {
		t.Fatal(err)
	}
	if got := a.ChunkedSeries[0].Labels[0].Value; got != "first" {
		t.Fatalf("first message changed to %q", got)
	}
	if got := a.ChunkedSeries[0].Chunks[0].Data; !bytes.Equal(got, []byte{0, 1, 2, 3}) {
		t.Fatalf("first chunk data changed to %v", got)
	}
}
