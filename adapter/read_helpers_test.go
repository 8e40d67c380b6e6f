package adapter

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/remote"
)

var (
	samplesOnly  = []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES}
	streamedOnly = []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS}
)

// query builds a read query from a PromQL series selector.
func query(t *testing.T, selector string, start, end int64) *prompb.Query {
	t.Helper()
	ms, err := mapping.ParseSelector(selector)
	if err != nil {
		t.Fatal(err)
	}
	q := &prompb.Query{StartTimestampMs: start, EndTimestampMs: end}
	for _, m := range ms {
		typ := map[labels.MatchType]prompb.LabelMatcher_Type{
			labels.MatchEqual: prompb.LabelMatcher_EQ, labels.MatchNotEqual: prompb.LabelMatcher_NEQ,
			labels.MatchRegexp: prompb.LabelMatcher_RE, labels.MatchNotRegexp: prompb.LabelMatcher_NRE,
		}[m.Type]
		q.Matchers = append(q.Matchers, &prompb.LabelMatcher{Type: typ, Name: m.Name, Value: m.Value})
	}
	return q
}

// readBody is the snappy body of a read request.
func readBody(t *testing.T, types []prompb.ReadRequest_ResponseType, queries ...*prompb.Query) []byte {
	t.Helper()
	raw, err := proto.Marshal(&prompb.ReadRequest{Queries: queries, AcceptedResponseTypes: types})
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

// readResult is a read answer decoded into one shape whatever its type:
// per query, the series in the order sent.
type readResult struct {
	response
	results [][]prompb.TimeSeries
}

// read sends a remote-read request and decodes the answer as Prometheus
// would, turning streamed chunks back into samples.
func read(t *testing.T, url string, types []prompb.ReadRequest_ResponseType, queries ...*prompb.Query) readResult {
	t.Helper()
	resp := postRead(t, url, types, queries...)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	out := readResult{response: response{resp.StatusCode, resp.Header, string(body)}}
	if resp.StatusCode != http.StatusOK {
		return out
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-streamed-protobuf") {
		out.results = decodeStreamed(t, body, len(queries))
		return out
	}
	rr, err := remote.DecodeReadResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, qr := range rr.Results {
		var series []prompb.TimeSeries
		for _, ts := range qr.Timeseries {
			series = append(series, *ts)
		}
		out.results = append(out.results, series)
	}
	return out
}

// postRead sends a remote-read request and returns the answer unread.
func postRead(t *testing.T, url string, types []prompb.ReadRequest_ResponseType, queries ...*prompb.Query) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(readBody(t, types, queries...)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// decodeStreamed turns frames back into series: consecutive frames of the
// same query and labels are one series split over several frames.
func decodeStreamed(t *testing.T, body []byte, queries int) [][]prompb.TimeSeries {
	t.Helper()
	out := make([][]prompb.TimeSeries, queries)
	cr := remote.NewChunkedReader(bytes.NewReader(body), remote.DefaultMaxFrameBytes)
	lastIndex := int64(-1)
	for {
		msg, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if msg.QueryIndex < lastIndex {
			t.Fatalf("frame of query %d after query %d", msg.QueryIndex, lastIndex)
		}
		lastIndex = msg.QueryIndex
		for _, cs := range msg.ChunkedSeries {
			series := &out[msg.QueryIndex]
			n := len(*series)
			if n == 0 || labelString((*series)[n-1].Labels) != labelString(cs.Labels) {
				*series = append(*series, prompb.TimeSeries{Labels: cs.Labels})
				n++
			}
			ts := &(*series)[n-1]
			for _, c := range cs.Chunks {
				appendChunk(t, ts, c)
			}
		}
	}
}

// appendChunk decodes one streamed chunk into ts's samples or histograms,
// checking its sample count and its min and max times. Histograms are
// copied (the iterator reuses its buffers) and compacted: a chunk may carry
// empty buckets the sender did not have.
func appendChunk(t *testing.T, ts *prompb.TimeSeries, c prompb.Chunk) {
	t.Helper()
	enc := map[prompb.Chunk_Encoding]chunkenc.Encoding{
		prompb.Chunk_XOR: chunkenc.EncXOR, prompb.Chunk_HISTOGRAM: chunkenc.EncHistogram, prompb.Chunk_FLOAT_HISTOGRAM: chunkenc.EncFloatHistogram,
	}[c.Type]
	chk, err := chunkenc.FromData(enc, c.Data)
	if err != nil {
		t.Fatal(err)
	}
	if chk.NumSamples() > 120 {
		t.Errorf("chunk of %d samples, want at most 120", chk.NumSamples())
	}
	it := chk.Iterator(nil)
	first, last := int64(math.MinInt64), int64(0)
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		var st int64
		switch vt {
		case chunkenc.ValFloat:
			var v float64
			st, v = it.At()
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: st, Value: v})
		case chunkenc.ValHistogram:
			var h *histogram.Histogram
			st, h = it.AtHistogram(nil)
			ts.Histograms = append(ts.Histograms, prompb.FromIntHistogram(st, h.Copy().Compact(0)))
		case chunkenc.ValFloatHistogram:
			var h *histogram.FloatHistogram
			st, h = it.AtFloatHistogram(nil)
			ts.Histograms = append(ts.Histograms, prompb.FromFloatHistogram(st, h.Copy().Compact(0)))
		}
		if first == math.MinInt64 {
			first = st
		}
		last = st
	}
	if first != c.MinTimeMs || last != c.MaxTimeMs {
		t.Errorf("chunk MinTimeMs %d MaxTimeMs %d, samples from %d to %d", c.MinTimeMs, c.MaxTimeMs, first, last)
	}
}
