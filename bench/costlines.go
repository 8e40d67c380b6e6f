package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/units"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/mapping"
)

// costVariant is one way of writing the same points to InfluxDB's /write
// (bench influx-cost): how many lines go into one request, how many
// requests are in flight, the order of the lines within a request, the
// precision of the timestamps, the order of the tags and gzip.
type costVariant struct {
	name string
	// lines and maxBytes cut the stream of lines into bodies, as
	// pool.batch.max_points and max_bytes do (0 bytes: no limit).
	lines    int
	maxBytes int
	writers  int
	order    string // sent, key or shuffled
	// precision is ms (Prometheus's timestamps as they are) or ns (the
	// same instants with six more digits).
	precision string
	tags      string // sorted (by key, as promflux writes them) or reversed
	gzip      bool
}

// baseCostVariant is what promflux sends into one batch today, at the
// default pool.batch.max_points and without the byte limit.
var baseCostVariant = costVariant{name: "base", lines: 10000, writers: 1, order: "sent", precision: "ms", tags: "sorted"}

// defaultCostVariants are the variants bench influx-cost measures unless
// told otherwise: each differs from base in one respect, but lines=10000,
// which is base under another name: how far apart two measurements of the
// same thing come out is the noise the others must rise above.
var defaultCostVariants = []string{
	"base", "lines=10000",
	"lines=2000", "lines=5000", "lines=20000", "lines=50000",
	"bytes=1MiB",
	"writers=2", "writers=4,lines=2000", "writers=4", "writers=4,lines=50000",
	"order=key", "order=shuffled",
	"precision=ns",
	"tags=reversed",
	"gzip=true",
}

// parseCostVariant reads a variant: "base", or comma-separated key=value
// changes to base (lines, bytes, writers, order, precision, tags, gzip).
// The variant is named by spec.
func parseCostVariant(spec string) (costVariant, error) {
	v := baseCostVariant
	v.name = spec
	if spec == "base" {
		return v, nil
	}
	for _, kv := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return v, fmt.Errorf("variant %q: want key=value, got %q", spec, kv)
		}
		var err error
		switch key {
		case "lines":
			v.lines, err = positive(val)
		case "writers":
			v.writers, err = positive(val)
		case "bytes":
			var b units.Base2Bytes
			if b, err = units.ParseBase2Bytes(val); err == nil && b <= 0 {
				err = fmt.Errorf("want a positive size, got %q", val)
			}
			v.maxBytes = int(b)
		case "order":
			err = oneOf(val, "sent", "key", "shuffled")
			v.order = val
		case "precision":
			err = oneOf(val, "ms", "ns")
			v.precision = val
		case "tags":
			err = oneOf(val, "sorted", "reversed")
			v.tags = val
		case "gzip":
			v.gzip, err = strconv.ParseBool(val)
		default:
			err = fmt.Errorf("unknown key %q (want lines, bytes, writers, order, precision, tags or gzip)", key)
		}
		if err != nil {
			return v, fmt.Errorf("variant %q: %s: %w", spec, key, err)
		}
	}
	return v, nil
}

func positive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a positive integer, got %q", s)
	}
	return n, nil
}

func oneOf(s string, vals ...string) error {
	if slices.Contains(vals, s) {
		return nil
	}
	return fmt.Errorf("want one of %s, got %q", strings.Join(vals, ", "), s)
}

// lineStream is the line protocol of every generated point, in the order
// promflux would write it: the lines of each remote-write request together,
// the requests of the shards one after the other.
type lineStream struct {
	buf []byte
	// ends[k] is the end of line k, after its '\n'.
	ends []int
}

func (s *lineStream) line(k int) []byte {
	start := 0
	if k > 0 {
		start = s.ends[k-1]
	}
	return s.buf[start:s.ends[k]]
}

func (s *lineStream) len() int { return len(s.ends) }

// buildStream encodes samples points of every series of g, with promflux's
// encoding (mapping.AppendSeries), into requests of reqSamples samples,
// each shard's series in rounds as Prometheus's shards send them (see
// shard), one request of each shard in turn.
func buildStream(g *generator, samples, shards, reqSamples int) (*lineStream, error) {
	labels := make([][]prompb.Label, g.series)
	for i := range labels {
		labels[i] = g.labelSet(i)
	}
	st := &lineStream{ends: make([]int, 0, g.series*samples)}
	var c mapping.Counts
	smp := make([]prompb.Sample, 1)
	sh := newShards(g.series, shards, 0, samples)
	for active := true; active; {
		active = false
		for _, s := range sh {
			for n := 0; n < reqSamples && !s.done(); n++ {
				i := s.series[s.pos]
				smp[0] = prompb.Sample{Value: g.value(i, s.round), Timestamp: g.timestamp(s.round)}
				var err error
				if st.buf, err = mapping.AppendSeries(st.buf, labels[i], smp, 0, &c); err != nil {
					return nil, err
				}
				st.ends = append(st.ends, len(st.buf))
				if s.pos++; s.pos == len(s.series) {
					s.pos = 0
					s.round++
				}
				active = true
			}
		}
	}
	if c.Points != st.len() {
		return nil, fmt.Errorf("encoded %d lines for %d samples", c.Points, st.len())
	}
	return st, nil
}

// cutBatches cuts the lines of s into batches of at most maxLines lines
// and, when maxBytes > 0, at most maxBytes bytes (a line longer than that
// goes alone), as promflux's pool cuts its batches. A batch is the range
// [b[0], b[1]) of line numbers.
func cutBatches(s *lineStream, maxLines, maxBytes int) [][2]int {
	var out [][2]int
	start, size := 0, 0
	for k := 0; k < s.len(); k++ {
		n := len(s.line(k))
		if k > start && (k-start == maxLines || maxBytes > 0 && size+n > maxBytes) {
			out = append(out, [2]int{start, k})
			start, size = k, 0
		}
		size += n
	}
	if start < s.len() {
		out = append(out, [2]int{start, s.len()})
	}
	return out
}

// appendBody appends the body of the batch of lines [from, to) of s as
// variant v writes it: in v.order (shuffled with rng), each line rewritten
// for v.tags and v.precision. idx is scratch space, returned for reuse.
func appendBody(dst []byte, s *lineStream, from, to int, v *costVariant, rng *rand.Rand, idx []int) ([]byte, []int) {
	idx = idx[:0]
	for k := from; k < to; k++ {
		idx = append(idx, k)
	}
	switch v.order {
	case "key":
		// Stable: the samples of a series stay in time order.
		slices.SortStableFunc(idx, func(a, b int) int {
			return bytes.Compare(seriesKey(s.line(a)), seriesKey(s.line(b)))
		})
	case "shuffled":
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	for _, k := range idx {
		line := s.line(k)
		if v.precision == "ns" {
			// The timestamp ends the line: ms x 1e6 is ms and six zeros.
			line = line[:len(line)-1]
		}
		if v.tags == "reversed" {
			dst = appendReversedTags(dst, line)
		} else {
			dst = append(dst, line...)
		}
		if v.precision == "ns" {
			dst = append(dst, "000000\n"...)
		}
	}
	return dst, idx
}

// seriesKey returns the measurement and tags of a line: everything before
// its first unescaped space.
func seriesKey(line []byte) []byte {
	return line[:scan(line, 0, " ", false)]
}

// appendReversedTags appends line with the tags of its series key in the
// reverse order: sorted tags come out sorted the other way, which InfluxDB
// sorts back on parsing.
func appendReversedTags(dst, line []byte) []byte {
	end := scan(line, 0, " ", false)
	m := scan(line, 0, ",", false)
	if m >= end {
		return append(dst, line...)
	}
	dst = append(dst, line[:m]...)
	var tags [][]byte
	for k := m; k < end; {
		next := scan(line[:end], k+1, ",", false)
		tags = append(tags, line[k+1:next])
		k = next
	}
	for t := len(tags) - 1; t >= 0; t-- {
		dst = append(dst, ',')
		dst = append(dst, tags[t]...)
	}
	return append(dst, line[end:]...)
}
