package adapter

import (
	"context"
	"errors"
	"net/http"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/promflux/promflux/promapi"
	"github.com/promflux/promflux/remote"
)

// queryAPI serves one endpoint of Prometheus's query API: promapi answers
// it, with the queryable of the running configuration, over the read path.
// A form body is bounded like a remote-read body.
func (s *Server) queryAPI(endpoint func(*promapi.API, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := s.state.Load()
		remote.LimitBodyRate(w, r, st.cfg.Limits)
		endpoint(st.query, w, r)
	}
}

// queryable is the storage of the query API (promapi.Storage): each
// selector of a query is one remote-read query, answered by the read path
// (plan and fetch) from every database it can reach, exactly as
// /api/v1/read answers it: merged, sorted, special values, stale markers
// and native histograms included. Series and label lookups are the same
// plan without the samples, or InfluxDB's index; exemplars and metadata
// are read as promflux stored them.
type queryable struct {
	s  *Server
	st *state
	// maxSamples bounds the samples the selectors of one query hold:
	// query.max_samples, which the engine applies to what it loads, or
	// read.max_samples if lower.
	maxSamples int64
}

func newQueryable(s *Server, st *state) *queryable {
	return &queryable{s: s, st: st, maxSamples: min(int64(st.cfg.Query.MaxSamples), st.cfg.Read.MaxSamples)}
}

// Querier implements storage.Queryable. The engine asks for one querier
// per query.
func (q *queryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{queryable: q, mint: mint, maxt: maxt}, nil
}

// querier reads the selectors of one query.
type querier struct {
	*queryable
	mint, maxt int64
	// samples counts what the selectors read so far hold; the engine
	// selects them one after the other.
	samples int64
}

// Select reads the series matching ms in the selector's time range
// (hints, or the query's), sorted whatever sortSeries says; with the hint
// Func "series" (/api/v1/series) their labels alone, as the plan finds
// them. A failure is the SeriesSet's error: the engine's
// ErrTooManySamples past maxSamples, promapi.UnavailableError when a
// database cannot answer, promql.ErrStorage for stored data promflux
// cannot read back.
func (q *querier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	pq := q.query(hints, ms)
	// A turn among read.max_concurrency, as a remote read takes, so that
	// queries and reads together never overload a database's pool.
	if err := q.s.takeReadSlot(ctx, q.st); err != nil {
		return storage.ErrSeriesSet(selectError(err))
	}
	defer func() { <-q.st.readSlots }()
	p, err := q.s.plan(ctx, q.st, pq, "")
	if err != nil {
		return storage.ErrSeriesSet(selectError(err))
	}
	if hints != nil && hints.Func == "series" {
		series := make([]*querySeries, len(p.series))
		for i, rs := range p.series {
			series[i] = &querySeries{labels: rs.labels}
		}
		return &seriesSet{series: series, i: -1}
	}
	c := &collector{q: q}
	if err := q.s.fetch(ctx, p, c); err != nil {
		return storage.ErrSeriesSet(selectError(err))
	}
	return &seriesSet{series: c.series, i: -1}
}

// matchType maps the matcher types of labels to those of prompb.
var matchType = map[labels.MatchType]prompb.LabelMatcher_Type{
	labels.MatchEqual:     prompb.LabelMatcher_EQ,
	labels.MatchNotEqual:  prompb.LabelMatcher_NEQ,
	labels.MatchRegexp:    prompb.LabelMatcher_RE,
	labels.MatchNotRegexp: prompb.LabelMatcher_NRE,
}

// selectError gives a failed read the error type the query API answers it
// with: the read path's 503s are unavailable, its 500s (stored data it
// cannot read back) the engine's storage error, its 400s (a selector the
// databases cannot answer) an execution error.
func selectError(err error) error {
	var tooMany promql.ErrTooManySamples
	if errors.As(err, &tooMany) {
		return err
	}
	var he *httpError
	if !errors.As(readError(err), &he) {
		return err
	}
	switch he.status {
	case http.StatusServiceUnavailable:
		return promapi.UnavailableError{Err: he}
	case http.StatusInternalServerError:
		return promql.ErrStorage{Err: he}
	}
	return he
}

// Close implements storage.Querier: the series read stay with the
// engine.
func (q *querier) Close() error { return nil }

// collector is the seriesSink of a Select: it keeps the series read, in
// order, within the querier's sample budget.
type collector struct {
	q      *querier
	series []*querySeries
	cur    *querySeries
}

func (c *collector) StartSeries(rs *readSeries) error {
	c.cur = &querySeries{labels: rs.labels}
	return nil
}

func (c *collector) count() error {
	if c.q.samples++; c.q.samples > c.q.maxSamples {
		// The engine's own error for what it would load past
		// query.max_samples: the API answers it as Prometheus does.
		return promql.ErrTooManySamples("query execution")
	}
	return nil
}

func (c *collector) Append(t int64, v float64) error {
	if err := c.count(); err != nil {
		return err
	}
	if s := c.cur; s.mixed != nil {
		s.mixed = append(s.mixed, mixedSample{t: t, f: v})
	} else {
		s.floats = append(s.floats, floatSample{t: t, f: v})
	}
	return nil
}

// AppendHistogram keeps a native histogram as the engine takes it: an
// integer histogram as *histogram.Histogram, a float one as
// *histogram.FloatHistogram, as Prometheus's remote-read client does.
func (c *collector) AppendHistogram(t int64, h *prompb.Histogram) error {
	if err := c.count(); err != nil {
		return err
	}
	s := c.cur
	if s.mixed == nil {
		s.mixed = make([]mixedSample, len(s.floats), len(s.floats)+1)
		for i, f := range s.floats {
			s.mixed[i] = mixedSample{t: f.t, f: f.f}
		}
		s.floats = nil
	}
	ms := mixedSample{t: t}
	if h.IsFloatHistogram() {
		ms.fh = h.ToFloatHistogram()
	} else {
		ms.h = h.ToIntHistogram()
	}
	s.mixed = append(s.mixed, ms)
	return nil
}

func (c *collector) EndSeries() error {
	c.series = append(c.series, c.cur)
	c.cur = nil
	return nil
}

// seriesSet is the answer of a Select.
type seriesSet struct {
	series []*querySeries
	i      int
}

func (ss *seriesSet) Next() bool {
	ss.i++
	return ss.i < len(ss.series)
}

func (ss *seriesSet) At() storage.Series                { return ss.series[ss.i] }
func (ss *seriesSet) Err() error                        { return nil }
func (ss *seriesSet) Warnings() annotations.Annotations { return nil }

// querySeries is one series read for the engine, its samples in time
// order: floats while it has only float samples (16 bytes each), mixed
// once it has a native histogram.
type querySeries struct {
	labels labels.Labels
	floats floatSamples
	mixed  mixedSamples
}

func (s *querySeries) Labels() labels.Labels { return s.labels }

// Iterator implements storage.Series with Prometheus's iterator over a
// list of samples.
func (s *querySeries) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	if s.mixed != nil {
		return storage.NewListSeriesIterator(s.mixed)
	}
	return storage.NewListSeriesIterator(s.floats)
}

// floatSamples are the samples of a series without native histograms.
// Get returns a pointer into the slice, which a chunks.Sample holds
// without an allocation.
type floatSamples []floatSample

func (s floatSamples) Get(i int) chunks.Sample { return &s[i] }
func (s floatSamples) Len() int                { return len(s) }

type floatSample struct {
	t int64
	f float64
}

func (s *floatSample) T() int64                      { return s.t }
func (s *floatSample) ST() int64                     { return 0 }
func (s *floatSample) F() float64                    { return s.f }
func (s *floatSample) H() *histogram.Histogram       { return nil }
func (s *floatSample) FH() *histogram.FloatHistogram { return nil }
func (s *floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s *floatSample) Copy() chunks.Sample           { c := *s; return &c }

// mixedSamples are the samples of a series with native histograms.
type mixedSamples []mixedSample

func (s mixedSamples) Get(i int) chunks.Sample { return &s[i] }
func (s mixedSamples) Len() int                { return len(s) }

// mixedSample is a float (h and fh nil), an integer histogram (h) or a
// float histogram (fh). H and FH return copies: the engine may change
// what it is given, or hand it back to be overwritten, and a series may
// be read more than once.
type mixedSample struct {
	t  int64
	f  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

func (s *mixedSample) T() int64   { return s.t }
func (s *mixedSample) ST() int64  { return 0 }
func (s *mixedSample) F() float64 { return s.f }

func (s *mixedSample) H() *histogram.Histogram {
	if s.h == nil {
		return nil
	}
	return s.h.Copy()
}

// FH returns the float histogram, or the integer one as a float
// histogram, which chunkenc.Iterator's AtFloatHistogram promises.
func (s *mixedSample) FH() *histogram.FloatHistogram {
	switch {
	case s.h != nil:
		return s.h.ToFloat(nil)
	case s.fh != nil:
		return s.fh.Copy()
	}
	return nil
}

func (s *mixedSample) Type() chunkenc.ValueType {
	switch {
	case s.h != nil:
		return chunkenc.ValHistogram
	case s.fh != nil:
		return chunkenc.ValFloatHistogram
	}
	return chunkenc.ValFloat
}

func (s *mixedSample) Copy() chunks.Sample {
	c := mixedSample{t: s.t, f: s.f, h: s.H()}
	if s.fh != nil {
		c.fh = s.fh.Copy()
	}
	return &c
}
