package main

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/mapping"
)

func TestParseCostVariant(t *testing.T) {
	v, err := parseCostVariant("base")
	if err != nil || v.name != "base" || v.lines != 10000 || v.writers != 1 || v.order != "sent" || v.precision != "ms" || v.tags != "sorted" || v.gzip || v.maxBytes != 0 {
		t.Fatalf("base = %+v, %v", v, err)
	}
	v, err = parseCostVariant("lines=2000, writers=4,bytes=1MiB,order=key,precision=ns,tags=reversed,gzip=true")
	if err != nil {
		t.Fatal(err)
	}
	want := costVariant{name: "lines=2000, writers=4,bytes=1MiB,order=key,precision=ns,tags=reversed,gzip=true",
		lines: 2000, writers: 4, maxBytes: 1 << 20, order: "key", precision: "ns", tags: "reversed", gzip: true}
	if v != want {
		t.Fatalf("got %+v, want %+v", v, want)
	}
	for _, bad := range []string{"", "lines", "lines=0", "writers=-1", "bytes=0", "order=random", "precision=s", "tags=up", "gzip=maybe", "colour=red"} {
		if _, err := parseCostVariant(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	for _, spec := range defaultCostVariants {
		if _, err := parseCostVariant(spec); err != nil {
			t.Errorf("default variant: %v", err)
		}
	}
	if got := splitVariants([]string{"base; lines=2000", "order=key;"}); !slices.Equal(got, []string{"base", "lines=2000", "order=key"}) {
		t.Errorf("splitVariants = %q", got)
	}
}

func streamOf(lines ...string) *lineStream {
	s := &lineStream{}
	for _, l := range lines {
		s.buf = append(s.buf, l...)
		s.ends = append(s.ends, len(s.buf))
	}
	return s
}

func TestCutBatches(t *testing.T) {
	s := streamOf("a 1\n", "bb 1\n", "c 1\n", "dddddddd 1\n", "e 1\n")
	for _, tc := range []struct {
		lines, bytes int
		want         [][2]int
	}{
		{10, 0, [][2]int{{0, 5}}},
		{2, 0, [][2]int{{0, 2}, {2, 4}, {4, 5}}},
		{5, 0, [][2]int{{0, 5}}},
		// 4+5 bytes fit into 9, the third line does not; the long line
		// goes alone.
		{10, 9, [][2]int{{0, 2}, {2, 3}, {3, 4}, {4, 5}}},
		{10, 13, [][2]int{{0, 3}, {3, 4}, {4, 5}}},
		{1, 0, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}},
	} {
		if got := cutBatches(s, tc.lines, tc.bytes); !slices.Equal(got, tc.want) {
			t.Errorf("cutBatches(%d lines, %d bytes) = %v, want %v", tc.lines, tc.bytes, got, tc.want)
		}
	}
	if got := cutBatches(&lineStream{}, 10, 0); len(got) != 0 {
		t.Errorf("empty stream: %v", got)
	}
}

func TestSeriesKeyAndReversedTags(t *testing.T) {
	for _, tc := range []struct{ line, key, reversed string }{
		{"m,a=1,b=2,c=3 value=1 5\n", "m,a=1,b=2,c=3", "m,c=3,b=2,a=1 value=1 5\n"},
		{"m value=1 5\n", "m", "m value=1 5\n"},
		{"m,a=1 value=1 5\n", "m,a=1", "m,a=1 value=1 5\n"},
		{`my\ m,a\,b=x\ y,c=d\,e value=1 5` + "\n", `my\ m,a\,b=x\ y,c=d\,e`, `my\ m,c=d\,e,a\,b=x\ y value=1 5` + "\n"},
		{`m\,n,a=1,b=2 value=1`, `m\,n,a=1,b=2`, `m\,n,b=2,a=1 value=1`},
	} {
		if got := string(seriesKey([]byte(tc.line))); got != tc.key {
			t.Errorf("seriesKey(%q) = %q, want %q", tc.line, got, tc.key)
		}
		got := appendReversedTags([]byte("x"), []byte(tc.line))
		if string(got) != "x"+tc.reversed {
			t.Errorf("appendReversedTags(%q) = %q, want %q", tc.line, got[1:], tc.reversed)
		}
		// InfluxDB parses both into the same point: the same tags.
		p, err := parseLine(bytes.TrimSuffix(got[1:], []byte("\n")))
		if err != nil {
			t.Errorf("%q: %v", got[1:], err)
			continue
		}
		q, _ := parseLine(bytes.TrimSuffix([]byte(tc.line), []byte("\n")))
		slices.Reverse(p.tags)
		if !slices.Equal(p.tags, q.tags) || p.measurement != q.measurement {
			t.Errorf("%q: tags %v, want %v reversed", got[1:], p.tags, q.tags)
		}
	}
}

func TestAppendBody(t *testing.T) {
	s := streamOf(
		"m,b=2,c=1 value=1 1000\n",
		"m,a=9 value=2 1000\n",
		"m,b=2,c=1 value=3 2000\n",
		"l,z=1 value=4 1000\n",
	)
	body := func(v costVariant, from, to int) string {
		b, _ := appendBody([]byte("keep\n"), s, from, to, &v, rand.New(rand.NewPCG(1, 2)), nil)
		if !strings.HasPrefix(string(b), "keep\n") {
			t.Fatalf("dst not kept: %q", b)
		}
		return string(b[len("keep\n"):])
	}
	v := baseCostVariant
	if got, want := body(v, 0, 4), string(s.buf); got != want {
		t.Errorf("sent: %q, want %q", got, want)
	}
	if got, want := body(v, 1, 3), "m,a=9 value=2 1000\nm,b=2,c=1 value=3 2000\n"; got != want {
		t.Errorf("sent [1,3): %q, want %q", got, want)
	}
	v.order = "key"
	if got, want := body(v, 0, 4), "l,z=1 value=4 1000\nm,a=9 value=2 1000\nm,b=2,c=1 value=1 1000\nm,b=2,c=1 value=3 2000\n"; got != want {
		t.Errorf("key: %q, want %q", got, want)
	}
	v.order = "shuffled"
	got := strings.SplitAfter(body(v, 0, 4), "\n")
	got = got[:len(got)-1]
	all := strings.SplitAfter(string(s.buf), "\n")
	all = all[:len(all)-1]
	slices.Sort(got)
	slices.Sort(all)
	if !slices.Equal(got, all) {
		t.Errorf("shuffled: lines %q, want %q in any order", got, all)
	}
	v = baseCostVariant
	v.precision, v.tags = "ns", "reversed"
	if got, want := body(v, 0, 2), "m,c=1,b=2 value=1 1000000000\nm,a=9 value=2 1000000000\n"; got != want {
		t.Errorf("ns, reversed: %q, want %q", got, want)
	}
}

func TestBuildStream(t *testing.T) {
	g := &generator{series: 10, labels: 8, start: 1700000000000, interval: 15000}
	s, err := buildStream(g, 3, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Shard 0 holds the even series, shard 1 the odd ones; each sends 4
	// samples per request, its series in rounds, and the shards' requests
	// alternate.
	wantSeries := []int{0, 2, 4, 6, 1, 3, 5, 7, 8, 0, 2, 4, 9, 1, 3, 5, 6, 8, 0, 2, 7, 9, 1, 3, 4, 6, 8, 5, 7, 9}
	wantRound := []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 2, 2, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2}
	if s.len() != len(wantSeries) {
		t.Fatalf("%d lines, want %d", s.len(), len(wantSeries))
	}
	for k, i := range wantSeries {
		line := s.line(k)
		want, err := mapping.AppendSeries(nil, g.labelSet(i), []prompb.Sample{{Value: g.value(i, wantRound[k]), Timestamp: g.timestamp(wantRound[k])}}, 0, &mapping.Counts{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(line, want) {
			t.Errorf("line %d: %q, want %q", k, line, want)
		}
	}
}
