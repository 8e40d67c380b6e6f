package remote

import (
	"bytes"
	"errors"
	"testing"
	"unsafe"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// Once a request of a size was decoded and released, decoding the next one
// of that size allocates a fixed few objects (header parsing, body reader),
// none per series or sample.
func TestDecodeWriteAllocatesPerRequestOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes thousands of series")
	}
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	for _, bp := range benchPayloads {
		t.Run(bp.name, func(t *testing.T) {
			body := snappy.Encode(nil, bp.raw(t))
			r, reader := benchRequest(body, bp.version)
			decode := func() {
				reader.Reset(body)
				if n := decodeCounting(t, r); n != bp.samples() {
					t.Fatalf("decoded %d samples, want %d", n, bp.samples())
				}
			}
			decode() // fills the pools
			// A garbage collection may empty the pools mid-run, which costs
			// one request its arenas again: the bound leaves room for that.
			const maxAllocs = 10
			if allocs := testing.AllocsPerRun(20, decode); allocs > maxAllocs {
				t.Fatalf("%.1f allocations per request of %d samples, want at most %d", allocs, bp.samples(), maxAllocs)
			}
		})
	}
}

// The view's strings point into the decompressed body instead of copies.
func TestDecodeWriteAliasesBody(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version WriteVersion
		body    []byte
	}{
		{name: "v1", version: WriteV1, body: mustMarshal(t, richV1())},
		{name: "v2", version: WriteV2, body: mustMarshal(t, richV2())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := getRequest(tc.version, nil)
			defer p.release()
			err := p.decode(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			start := uintptr(unsafe.Pointer(unsafe.SliceData(tc.body)))
			end := start + uintptr(len(tc.body))
			check := func(what, s string) {
				if s == "" {
					return
				}
				if at := uintptr(unsafe.Pointer(unsafe.StringData(s))); at < start || at >= end {
					t.Errorf("%s %q is a copy, not part of the body", what, s)
				}
			}
			strings := 0
			for _, s := range p.req.series {
				for _, l := range s.Labels {
					check("label", l.Name)
					check("label value", l.Value)
					strings += 2
				}
				for _, e := range s.Exemplars {
					for _, l := range e.Labels {
						check("exemplar label", l.Name)
						check("exemplar label value", l.Value)
						strings += 2
					}
				}
				check("help", s.Metadata.Help)
				check("unit", s.Metadata.Unit)
			}
			for _, m := range p.req.Metadata {
				check("metric family name", m.MetricFamilyName)
				check("help", m.Help)
				check("unit", m.Unit)
			}
			if strings == 0 {
				t.Fatal("the request decoded to no labels")
			}
		})
	}
}

func TestReuseCapsArenas(t *testing.T) {
	labelSize := int(unsafe.Sizeof(prompb.Label{}))
	for _, tc := range []struct {
		name    string
		cap     int
		wantCap int
	}{
		{name: "empty", cap: 0, wantCap: 0},
		{name: "at the cap", cap: maxPooledArena / labelSize, wantCap: maxPooledArena / labelSize},
		{name: "over the cap", cap: maxPooledArena/labelSize + 1, wantCap: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arena := make([]prompb.Label, min(1, tc.cap), tc.cap)
			got := reuse(arena)
			if len(got) != 0 || cap(got) != tc.wantCap {
				t.Fatalf("reuse kept len %d cap %d, want len 0 cap %d", len(got), cap(got), tc.wantCap)
			}
		})
	}
}

func TestReleaseTwicePanics(t *testing.T) {
	req, err := decodeWrite(newWriteRequest(compress(t, sampleV1()), ""), DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	req.Release()
	defer func() {
		if recover() == nil {
			t.Fatal("second Release did not panic")
		}
	}()
	req.Release()
}

// TestDecodeWriteMemoryBudget: a body of tiny messages, each of which
// decodes into a much larger struct, is refused as too large instead of
// taking gigabytes; real requests of the same size are far below the
// budget.
func TestDecodeWriteMemoryBudget(t *testing.T) {
	const repeat = 256 << 10 // 512KiB of two-byte messages
	for _, tc := range []struct {
		name    string
		version WriteVersion
		body    []byte
	}{
		{"v1 empty timeseries", WriteV1, bytes.Repeat([]byte{0x0a, 0x00}, repeat)},
		{"v1 empty metadata", WriteV1, bytes.Repeat([]byte{0x1a, 0x00}, repeat)},
		{"v2 empty timeseries", WriteV2, append([]byte{0x22, 0x00}, bytes.Repeat([]byte{0x2a, 0x00}, repeat)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := getRequest(tc.version, nil)
			defer p.release()
			err := p.decode(tc.body)
			if !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrTooLarge only", err)
			}
			if p.used > p.budget+sizeSeries {
				t.Errorf("charged %d bytes, past the budget of %d", p.used, p.budget)
			}
		})
	}
	for _, bp := range benchPayloads {
		p := getRequest(bp.version, nil)
		raw := bp.raw(t)
		if err := p.decode(raw); err != nil {
			t.Fatalf("%s: %v", bp.name, err)
		}
		if ratio := float64(p.used) / float64(len(raw)); ratio > float64(p.factor)/2 {
			t.Errorf("%s takes %.1fx its size, close to the budget's %dx", bp.name, ratio, p.factor)
		}
		p.release()
	}
}

// TestReleaseClearsArenas: a released request keeps no pointer into its
// body, so that a large body is collected even while its arenas are pooled.
func TestReleaseClearsArenas(t *testing.T) {
	p := getRequest(WriteV1, nil)
	if err := p.decodeV1(mustMarshal(t, richV1())); err != nil {
		t.Fatal(err)
	}
	labels, series := p.labels[:cap(p.labels)], p.series[:cap(p.series)]
	p.release()
	for i, l := range labels {
		if l.Name != "" || l.Value != "" {
			t.Fatalf("label %d still holds %q=%q after release", i, l.Name, l.Value)
		}
	}
	for i := range series {
		if series[i].Labels != nil || series[i].Samples != nil {
			t.Fatalf("series %d still holds its slices after release", i)
		}
	}
}
