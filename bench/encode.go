package main

import (
	"fmt"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// Content types and protocol versions of the two remote-write protocols.
const (
	contentTypeV1 = "application/x-protobuf"
	contentTypeV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
	versionV1     = "0.1.0"
	versionV2     = "2.0.0"
)

// shard is the part of the series one sender owns, as a Prometheus shard
// owns the series hashed to it: it sends them in rounds, every series of the
// shard at round n before any at round n+1, so that each series' samples
// arrive in time order whatever the number of shards.
type shard struct {
	series []int // the series' indexes in the generator
	round  int   // round of the next sample; its timestamp index
	pos    int   // position in series of the next sample
	// end is the round at which the shard is exhausted; < 0: never.
	end int
}

// newShards splits series 0..n-1 over c shards, all starting at round
// start and ending before round end (< 0: never).
func newShards(n, c, start, end int) []*shard {
	shards := make([]*shard, c)
	for s := range shards {
		shards[s] = &shard{round: start, end: end}
	}
	for i := range n {
		sh := shards[i%c]
		sh.series = append(sh.series, i)
	}
	return shards
}

// done reports whether the shard has sent all its rounds.
func (s *shard) done() bool { return len(s.series) == 0 || (s.end >= 0 && s.round >= s.end) }

// nextRound is the first round none of whose samples was taken yet.
func (s *shard) nextRound() int {
	if s.pos > 0 {
		return s.round + 1
	}
	return s.round
}

// request is one encoded remote-write body.
type request struct {
	body    []byte
	samples int
	raw     int // bytes of the body before compression
}

// encoder builds remote-write requests the way Prometheus's queue manager
// does: one time series entry per sample, up to batch samples per request,
// snappy-compressed. Its buffers are reused; it is not safe for concurrent
// use.
type encoder struct {
	g        *generator
	labels   [][]prompb.Label // per series, built once
	batch    int
	protocol string

	v1        prompb.WriteRequest
	samples   []prompb.Sample
	v2        writev2.Request
	v2samples []writev2.Sample
	symbols   writev2.SymbolsTable
	refs      []uint32
	raw       []byte
}

func newEncoder(g *generator, labels [][]prompb.Label, batch int, protocol string) *encoder {
	return &encoder{g: g, labels: labels, batch: batch, protocol: protocol, symbols: writev2.NewSymbolTable()}
}

// next encodes the shard's next request into a new body and advances the
// shard; ok is false when the shard is done.
func (e *encoder) next(s *shard) (r request, ok bool) {
	if s.done() {
		return request{}, false
	}
	if e.protocol == "2" {
		e.v2.Timeseries = e.v2.Timeseries[:0]
		e.symbols.Reset()
		e.refs = e.refs[:0]
		e.v2samples = e.v2samples[:0]
	} else {
		e.v1.Timeseries = e.v1.Timeseries[:0]
		e.samples = e.samples[:0]
	}
	for r.samples < e.batch && !s.done() {
		i := s.series[s.pos]
		smp := prompb.Sample{Value: e.g.value(i, s.round), Timestamp: e.g.timestamp(s.round)}
		if e.protocol == "2" {
			from := len(e.refs)
			for _, l := range e.labels[i] {
				e.refs = append(e.refs, e.symbols.Symbolize(l.Name), e.symbols.Symbolize(l.Value))
			}
			e.v2.Timeseries = append(e.v2.Timeseries, writev2.TimeSeries{LabelsRefs: e.refs[from:len(e.refs):len(e.refs)]})
			e.v2samples = append(e.v2samples, writev2.Sample{Value: smp.Value, Timestamp: smp.Timestamp})
		} else {
			e.samples = append(e.samples, smp)
			e.v1.Timeseries = append(e.v1.Timeseries, prompb.TimeSeries{Labels: e.labels[i]})
		}
		r.samples++
		if s.pos++; s.pos == len(s.series) {
			s.pos = 0
			s.round++
		}
	}
	// The sample slices may have moved while growing: point the series at
	// them only now.
	if e.protocol == "2" {
		for k := range e.v2.Timeseries {
			e.v2.Timeseries[k].Samples = e.v2samples[k : k+1 : k+1]
		}
		e.v2.Symbols = e.symbols.Symbols()
		e.raw = marshal(e.raw, &e.v2)
	} else {
		for k := range e.v1.Timeseries {
			e.v1.Timeseries[k].Samples = e.samples[k : k+1 : k+1]
		}
		e.raw = marshal(e.raw, &e.v1)
	}
	r.body = snappy.Encode(nil, e.raw)
	r.raw = len(e.raw)
	return r, true
}

// sizedMarshaler is what gogo/protobuf generates for both request types.
type sizedMarshaler interface {
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
}

// marshal encodes m into buf, reusing its capacity.
func marshal(buf []byte, m sizedMarshaler) []byte {
	n := m.Size()
	if cap(buf) < n {
		buf = make([]byte, n, n+n/4)
	}
	buf = buf[:n]
	if _, err := m.MarshalToSizedBuffer(buf); err != nil {
		// Generated messages always marshal; a failure is a bug here.
		panic(fmt.Sprintf("cannot marshal a generated write request of %d bytes: %v", n, err))
	}
	return buf
}

// contentType returns the Content-Type and X-Prometheus-Remote-Write-Version
// of the protocol.
func contentType(protocol string) (ctype, version string) {
	if protocol == "2" {
		return contentTypeV2, versionV2
	}
	return contentTypeV1, versionV1
}
