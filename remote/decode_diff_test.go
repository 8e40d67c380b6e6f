package remote

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// canonical renders a view so that two views render alike exactly when they
// hold the same data: floats as bits (NaN payloads and -0 included), nil and
// empty slices alike, histograms as their protobuf encoding. Rendering
// copies every string, so the result outlives Release.
func canonical(r *WriteRequest) string {
	var b strings.Builder
	labels := func(ls []prompb.Label) {
		for _, l := range ls {
			fmt.Fprintf(&b, " %q=%q", l.Name, l.Value)
		}
	}
	fmt.Fprintf(&b, "version %s\n", r.Version)
	for i, s := range r.series {
		fmt.Fprintf(&b, "series %d ct %d metadata %d %q %q %q labels", i, s.CreatedTimestamp,
			s.Metadata.Type, s.Metadata.MetricFamilyName, s.Metadata.Help, s.Metadata.Unit)
		labels(s.Labels)
		b.WriteByte('\n')
		for _, smp := range s.Samples {
			fmt.Fprintf(&b, "  sample %#x@%d\n", math.Float64bits(smp.Value), smp.Timestamp)
		}
		for _, h := range s.Histograms {
			raw, err := h.Marshal()
			fmt.Fprintf(&b, "  histogram %x %v\n", raw, err)
		}
		for _, e := range s.Exemplars {
			fmt.Fprintf(&b, "  exemplar %#x@%d", math.Float64bits(e.Value), e.Timestamp)
			labels(e.Labels)
			b.WriteByte('\n')
		}
	}
	for _, m := range r.Metadata {
		fmt.Fprintf(&b, "metadata %d %q %q %q\n", m.Type, m.MetricFamilyName, m.Help, m.Unit)
	}
	return b.String()
}

// decodeBoth decodes the protobuf body with the walk and with the gogo
// reference and fails t unless both fail with ErrInvalid or both return the
// same view. The walk that hands series out one at a time (WriteBody.Decode's)
// must give the same answer and the same series. It returns the walk's
// error.
func decodeBoth(t *testing.T, body []byte, version WriteVersion) error {
	t.Helper()
	reference := decodeV1Gogo
	if version == WriteV2 {
		reference = decodeV2Gogo
	}
	want, wantErr := reference(body)

	p := getRequest(version, nil) // body is the caller's: nothing to pool
	defer p.release()
	err := p.decode(body)

	streamed, streamErr := decodeStreamed(body, version)
	switch {
	case (err == nil) != (streamErr == nil) || err != nil && err.Error() != streamErr.Error():
		t.Fatalf("walk error %v, handing series out: %v", err, streamErr)
	case err == nil && canonical(streamed) != canonical(&p.req):
		t.Fatalf("series handed out differ:\n%s\nwhole walk:\n%s", canonical(streamed), canonical(&p.req))
	}

	switch {
	case err != nil && wantErr != nil:
		if kinds := sentinelsIn(err); len(kinds) != 1 || kinds[0] != ErrInvalid {
			t.Fatalf("error %q wraps %v, want exactly [%v]", err, kinds, ErrInvalid)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error %q spans several lines", err)
		}
		return err
	case err != nil:
		t.Fatalf("walk failed with %q where the reference decoded:\n%s", err, canonical(want))
	case wantErr != nil:
		t.Fatalf("walk decoded where the reference failed with %q:\n%s", wantErr, canonical(&p.req))
	}
	if got, want := canonical(&p.req), canonical(want); got != want {
		t.Fatalf("views differ:\nwalk:\n%s\nreference:\n%s", got, want)
	}
	return nil
}

// collector keeps a deep copy of every series handed to it.
type collector struct{ series []Series }

func (c *collector) Series(s *Series) error {
	cp := *s
	cp.Labels = slices.Clone(s.Labels)
	cp.Samples = slices.Clone(s.Samples)
	cp.Histograms = slices.Clone(s.Histograms)
	cp.Exemplars = slices.Clone(s.Exemplars)
	for i := range cp.Exemplars {
		cp.Exemplars[i].Labels = slices.Clone(cp.Exemplars[i].Labels)
	}
	c.series = append(c.series, cp)
	return nil
}

// decodeStreamed decodes body as WriteBody.Decode does, without limits, and
// returns the series it handed out and the metadata.
func decodeStreamed(body []byte, version WriteVersion) (*WriteRequest, error) {
	p := getRequest(version, nil)
	p.body = body
	defer func() {
		p.body = nil // the caller's: nothing to pool
		p.release()
	}()
	c := &collector{}
	var err error
	if version == WriteV2 {
		err = p.decodeThenEach(c)
	} else {
		p.each = c
		err = p.decode(body)
	}
	if err != nil {
		return nil, err
	}
	return &WriteRequest{Version: version, series: c.series, Metadata: slices.Clone(p.req.Metadata)}, nil
}

// richV1 exercises every field of a RW 1.0 request.
func richV1() *prompb.WriteRequest {
	return &prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{
			{
				Labels:    []prompb.Label{{Name: "__name__", Value: "http_requests_total"}, {Name: "job", Value: "api"}},
				Samples:   []prompb.Sample{{Value: 1, Timestamp: 1000}, {Value: math.Float64frombits(0x7ff0000000000002), Timestamp: 2000}, {Value: math.Copysign(0, -1), Timestamp: -3}},
				Exemplars: []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "abc"}}, Value: 1, Timestamp: 1000}, {Value: 2}},
			},
			{
				Labels: []prompb.Label{{Name: "__name__", Value: "rpc_duration_seconds"}},
				Histograms: []prompb.Histogram{{
					Count: &prompb.Histogram_CountInt{CountInt: 3}, Sum: 1.5, Schema: 2, Timestamp: 3000,
					ZeroCount:     &prompb.Histogram_ZeroCountFloat{ZeroCountFloat: 0.5},
					PositiveSpans: []prompb.BucketSpan{{Offset: -1, Length: 2}}, PositiveDeltas: []int64{3, -1},
				}},
			},
			{}, // no labels at all
		},
		Metadata: []prompb.MetricMetadata{
			{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "http_requests_total", Help: "Requests.", Unit: "requests"},
			{Type: prompb.MetricMetadata_MetricType(-5)},
		},
	}
}

// richV2 exercises every field of a RW 2.0 request.
func richV2() *writev2.Request {
	return &writev2.Request{
		Symbols: []string{"", "__name__", "http_requests_total", "job", "api", "Requests.", "requests", "trace_id", "abc"},
		Timeseries: []writev2.TimeSeries{
			{
				LabelsRefs: []uint32{1, 2, 3, 4},
				Samples:    []writev2.Sample{{Value: 1, Timestamp: 1000}, {Value: 2, Timestamp: 2000, StartTimestamp: 500}},
				Exemplars:  []writev2.Exemplar{{LabelsRefs: []uint32{7, 8}, Value: 1, Timestamp: 1000}, {Value: 2}},
				Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: 5, UnitRef: 6},
			},
			{
				LabelsRefs: []uint32{1, 2},
				Histograms: []writev2.Histogram{{
					Count: &writev2.Histogram_CountFloat{CountFloat: 3}, Sum: 1.5, Schema: -53, Timestamp: 3000, StartTimestamp: 10,
					PositiveSpans: []writev2.BucketSpan{{Offset: 0, Length: 2}}, PositiveCounts: []float64{1, 2}, CustomValues: []float64{0.5, 1},
				}},
				XXX_unrecognized: legacyCT(1700000000123),
			},
			{}, // no labels at all
		},
	}
}

// seedBodies returns uncompressed bodies for both versions: Prometheus's own
// and the benchmark payloads, cut to a few series when small is set, as fuzz
// seeds must be small for the fuzzer to mutate and minimize them quickly.
func seedBodies(t testing.TB, small bool) (v1, v2 [][]byte) {
	for _, file := range []string{"prometheus-2.42-samples.snappy", "prometheus-2.42-metadata.snappy"} {
		compressed, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := snappy.Decode(nil, compressed)
		if err != nil {
			t.Fatal(err)
		}
		if small {
			var req prompb.WriteRequest
			if err := req.Unmarshal(raw); err != nil {
				t.Fatal(err)
			}
			req.Timeseries = req.Timeseries[:min(len(req.Timeseries), 3)]
			req.Metadata = req.Metadata[:min(len(req.Metadata), 3)]
			raw = mustMarshal(t, &req)
		}
		v1 = append(v1, raw)
	}
	v1 = append(v1, mustMarshal(t, sampleV1()), mustMarshal(t, richV1()))
	v2 = append(v2, mustMarshal(t, sampleV2()), mustMarshal(t, richV2()), mustMarshal(t, sampleV2WithoutSeries()))
	for _, bp := range benchPayloads {
		if small {
			bp.series = 3
		}
		if bp.version == WriteV2 {
			v2 = append(v2, bp.raw(t))
		} else {
			v1 = append(v1, bp.raw(t))
		}
	}
	return v1, v2
}

// FuzzDecodeWriteV1Differential and FuzzDecodeWriteV2Differential hold the
// protobuf walk to the generated gogo unmarshallers it replaced: for any
// body, both fail or both produce the same view.
func FuzzDecodeWriteV1Differential(f *testing.F) { fuzzDifferential(f, WriteV1) }

func FuzzDecodeWriteV2Differential(f *testing.F) { fuzzDifferential(f, WriteV2) }

func fuzzDifferential(f *testing.F, version WriteVersion) {
	v1, v2 := seedBodies(f, true)
	seeds := v1
	if version == WriteV2 {
		seeds = v2
	}
	for _, body := range seeds {
		f.Add(body)
	}
	for _, tc := range wireCases {
		if tc.version == version {
			f.Add(tc.body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = decodeBoth(t, body, version) // a mismatch fails t; an invalid body's error is expected
	})
}

func TestDecodeWriteMatchesGogoOnSeeds(t *testing.T) {
	v1, v2 := seedBodies(t, false)
	for i, body := range v1 {
		t.Run(fmt.Sprintf("v1 seed %d", i), func(t *testing.T) {
			if err := decodeBoth(t, body, WriteV1); err != nil {
				t.Fatal(err)
			}
		})
	}
	for i, body := range v2 {
		t.Run(fmt.Sprintf("v2 seed %d", i), func(t *testing.T) {
			if err := decodeBoth(t, body, WriteV2); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// pb concatenates protobuf fragments.
func pb(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// key encodes a field key.
func key(field uint64, wt int) []byte { return uvarint(field<<3 | uint64(wt)) }

func uvarint(v uint64) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// field encodes a length-delimited field.
func field(n uint64, v ...[]byte) []byte {
	body := pb(v...)
	return pb(key(n, wireBytes), uvarint(uint64(len(body))), body)
}

func str(n uint64, s string) []byte { return field(n, []byte(s)) }

var (
	// v1Series is a RW 1.0 TimeSeries with the label up="1" and one sample.
	v1Label  = field(1, str(1, "up"), str(2, "1"))
	v1Sample = field(2, key(1, wireFixed64), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, key(2, wireVarint), uvarint(1000))
	// symbolsV2 is the RW 2.0 symbols table "", "__name__", "up".
	symbolsV2 = pb(str(4, ""), str(4, "__name__"), str(4, "up"))
	v2Sample  = field(2, key(1, wireFixed64), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f})
	// elevenByteVarint does not fit 64 bits; tenByteVarint does, its last
	// byte's high bits dropped.
	tenByteVarint    = []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}
	elevenByteVarint = []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}
)

// wireCases are encodings at the edges of the protobuf format. The walk must
// judge each as the generated code does, and the expected outcome is stated
// too, so that a case cannot pass by both decoders going wrong alike.
var wireCases = []struct {
	name    string
	version WriteVersion
	body    []byte
	wantErr string // "" when the body must decode
}{
	{name: "v1 unknown fields of every wire type", version: WriteV1, body: pb(
		field(1, v1Label, v1Sample, key(9, wireVarint), uvarint(5), key(10, wireFixed32), []byte{1, 2, 3, 4}),
		key(7, wireFixed64), []byte{1, 2, 3, 4, 5, 6, 7, 8},
		key(8, wireStartGroup), key(1, wireVarint), uvarint(1), key(8, wireEndGroup))},
	{name: "v1 nested groups", version: WriteV1, body: pb(field(1, v1Label, v1Sample),
		key(8, wireStartGroup), key(9, wireStartGroup), key(9, wireEndGroup), key(8, wireEndGroup))},
	{name: "v1 unterminated group", version: WriteV1, body: pb(field(1, v1Label), key(8, wireStartGroup), key(1, wireVarint), uvarint(1)),
		wantErr: "unexpected end of message"},
	{name: "v1 lone end group", version: WriteV1, body: pb(field(1, v1Label), key(8, wireEndGroup)),
		wantErr: "end group"},
	{name: "v1 illegal wire type", version: WriteV1, body: pb(field(1, v1Label), key(8, 6)),
		wantErr: "illegal wire type 6"},
	{name: "v1 field number 0", version: WriteV1, body: pb(key(0, wireVarint), uvarint(1)),
		wantErr: "illegal field number 0"},
	{name: "v1 field number negative in 32 bits", version: WriteV1, body: pb(key(1<<31, wireVarint), uvarint(1)),
		wantErr: "illegal field number -2147483648"},
	{name: "v1 field number 1 in its low 32 bits", version: WriteV1, body: pb(key(1<<32|1, wireBytes), uvarint(uint64(len(v1Label))), v1Label)},
	{name: "v1 known field with wrong wire type", version: WriteV1, body: pb(key(1, wireVarint), uvarint(1)),
		wantErr: "field timeseries has wire type 0"},
	{name: "v1 double as varint", version: WriteV1, body: field(1, field(2, key(1, wireVarint), uvarint(1))),
		wantErr: "field value has wire type 0"},
	{name: "v1 ten-byte timestamp", version: WriteV1, body: field(1, field(2, key(2, wireVarint), tenByteVarint))},
	{name: "v1 eleven-byte timestamp", version: WriteV1, body: field(1, field(2, key(2, wireVarint), elevenByteVarint)),
		wantErr: "varint longer than 10 bytes"},
	{name: "v1 truncated double", version: WriteV1, body: field(1, field(2, key(1, wireFixed64), []byte{1, 2, 3})),
		wantErr: "unexpected end of message"},
	{name: "v1 length past the end", version: WriteV1, body: pb(key(1, wireBytes), uvarint(10), v1Label),
		wantErr: "exceeds the"},
	{name: "v1 length over 2^63", version: WriteV1, body: pb(key(1, wireBytes), uvarint(1<<63+1), v1Label),
		wantErr: "exceeds the"},
	{name: "v1 repeated scalar fields: last wins", version: WriteV1, body: field(1, v1Label,
		field(2, key(2, wireVarint), uvarint(1), key(2, wireVarint), uvarint(2)))},
	{name: "v1 metadata type over 32 bits", version: WriteV1, body: field(3, key(1, wireVarint), uvarint(1<<32|3))},
	{name: "v1 only unknown fields", version: WriteV1, body: pb(key(9, wireVarint), uvarint(1))},

	{name: "v2 unpacked refs", version: WriteV2, body: pb(symbolsV2,
		field(5, key(1, wireVarint), uvarint(1), key(1, wireVarint), uvarint(2), v2Sample))},
	{name: "v2 refs split over packed runs", version: WriteV2, body: pb(symbolsV2,
		field(5, field(1, uvarint(1)), key(1, wireVarint), uvarint(2), v2Sample))},
	{name: "v2 packed run whose last varint overruns it", version: WriteV2, body: pb(symbolsV2,
		field(5, key(1, wireBytes), uvarint(2), []byte{0x01, 0x82, 0x00}, v2Sample))},
	{name: "v2 packed run overrunning the message", version: WriteV2, body: pb(symbolsV2,
		field(5, key(1, wireBytes), uvarint(1), []byte{0x81})),
		wantErr: "unexpected end of message"},
	{name: "v2 ref over 32 bits keeps its low bits", version: WriteV2, body: pb(symbolsV2,
		field(5, field(1, uvarint(1<<32|1), uvarint(2)), v2Sample))},
	{name: "v2 symbols after series", version: WriteV2, body: pb(field(5, field(1, uvarint(1), uvarint(2)), v2Sample), symbolsV2)},
	{name: "v2 metadata twice merges", version: WriteV2, body: pb(symbolsV2, field(5, field(1, uvarint(1), uvarint(2)),
		field(5, key(1, wireVarint), uvarint(2), key(3, wireVarint), uvarint(2)), field(5, key(4, wireVarint), uvarint(1))))},
	{name: "v2 legacy created timestamp", version: WriteV2, body: pb(symbolsV2,
		field(5, field(1, uvarint(1), uvarint(2)), field(2, key(3, wireVarint), uvarint(7)), key(6, wireVarint), uvarint(0)))},
	{name: "v2 legacy created timestamp twice: first wins", version: WriteV2, body: pb(symbolsV2,
		field(5, key(6, wireVarint), uvarint(5), key(6, wireVarint), uvarint(9)))},
	{name: "v2 legacy created timestamp after a group is ignored", version: WriteV2, body: pb(symbolsV2,
		field(5, key(9, wireStartGroup), key(9, wireEndGroup), key(6, wireVarint), uvarint(5), v2Sample))},
	{name: "v2 legacy created timestamp with another wire type", version: WriteV2, body: pb(symbolsV2,
		field(5, str(6, "x"), key(6, wireVarint), uvarint(5)))},
	{name: "v2 legacy field number only in its low 32 bits", version: WriteV2, body: pb(symbolsV2,
		field(5, key(1<<32|6, wireVarint), uvarint(5), field(2, key(3, wireVarint), uvarint(7))))},
	{name: "v2 start timestamps: first non-zero", version: WriteV2, body: pb(symbolsV2, field(5,
		field(3, key(17, wireVarint), uvarint(3)), v2Sample, field(2, key(3, wireVarint), uvarint(4)), field(2, key(3, wireVarint), uvarint(6))))},
	{name: "v2 histogram start timestamp when samples have none", version: WriteV2, body: pb(symbolsV2, field(5,
		v2Sample, field(3, key(17, wireVarint), uvarint(3))))},
	{name: "v2 dangling ref before an encoding error", version: WriteV2, body: pb(symbolsV2,
		field(5, field(1, uvarint(1), uvarint(9))), field(5, key(2, wireVarint), uvarint(1))),
		wantErr: "field samples has wire type 0"},
	{name: "v2 exemplar ref and label ref both dangling", version: WriteV2, body: pb(symbolsV2,
		field(5, field(4, field(1, uvarint(9), uvarint(1))), field(1, uvarint(1), uvarint(8)))),
		wantErr: "series 0: label ref 8 out of range (3 symbols)"},
	{name: "v2 reserved request fields", version: WriteV2, body: pb(key(1, wireVarint), uvarint(1), symbolsV2)},
	{name: "v2 only unknown fields", version: WriteV2, body: pb(key(1, wireVarint), uvarint(1))},
}

func TestDecodeWriteWireEdges(t *testing.T) {
	for _, tc := range wireCases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeBoth(t, tc.body, tc.version)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %q", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("decoded, want an error containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestDecodeLabelMatchesGogo holds decodeLabel, whose fast path takes the
// shape every sender uses, to the generated unmarshaller on that shape and
// on those next to it: fields swapped, repeated, missing or unknown, long
// lengths, bytes left over.
func TestDecodeLabelMatchesGogo(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"name then value", []byte("\x0a\x03job\x12\x04node")},
		{"empty name and value", []byte("\x0a\x00\x12\x00")},
		{"value then name", []byte("\x12\x04node\x0a\x03job")},
		{"name only", []byte("\x0a\x03job")},
		{"value only", []byte("\x12\x04node")},
		{"name twice", []byte("\x0a\x03job\x0a\x03env\x12\x04node")},
		{"value twice", []byte("\x0a\x03job\x12\x04node\x12\x04prod")},
		{"unknown field after", []byte("\x0a\x03job\x12\x04node\x18\x01")},
		{"long value", append([]byte("\x0a\x03job\x12\xc8\x01"), long...)},
		{"long name", append(append([]byte("\x0a\xc8\x01"), long...), "\x12\x01v"...)},
		{"value length past the end", []byte("\x0a\x03job\x12\x05node")},
		{"value length short of the end", []byte("\x0a\x03job\x12\x03node")},
		{"name length past the value", []byte("\x0a\x09job\x12\x04node")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want prompb.Label
			wantErr := want.Unmarshal(tc.msg)
			name, value, err := decodeLabel(tc.msg)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("decodeLabel error %v, generated code's %v", err, wantErr)
			}
			if err == nil && (name != want.Name || value != want.Value) {
				t.Fatalf("decodeLabel = %q, %q; generated code: %q, %q", name, value, want.Name, want.Value)
			}
		})
	}
}
