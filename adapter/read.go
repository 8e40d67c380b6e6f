package adapter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/remote"
)

// Fetch batches: the samples of consecutive series (in label order) of one
// measurement are read with one InfluxQL statement. The limits keep the
// statement text and the series buffered while waiting for their turn small;
// a series alone may be of any length, it is streamed.
const (
	maxBatchSeries  = 500
	maxBatchSamples = 1 << 18
)

// readSource is where one series is stored: a database and the stored form
// of its measurement and tags, as InfluxDB reported them.
type readSource struct {
	pool        *influxworker.Pool
	rp          string
	measurement string
	tags        map[string]string
	count       int64 // samples of every kind
	histograms  int64 // native histogram samples among them
}

// readSeries is one series matching a query, with every place it is stored.
type readSeries struct {
	labels  []prompb.Label
	sources []readSource
	count   int64
}

// alone reports whether the series is read on its own, merged in memory:
// it is stored in several databases, or it has native histograms, which
// come from a query of their own.
func (rs *readSeries) alone() bool {
	return len(rs.sources) > 1 || rs.sources[0].histograms > 0
}

// readPlan is one query of a read request, resolved to the series it returns
// in Prometheus order, before any sample is read.
type readPlan struct {
	sel    *mapping.Selection
	series []*readSeries
}

// seriesSink receives the series of one query in label order, sample by
// sample: either a streamed response or a SAMPLES result being built.
type seriesSink interface {
	StartSeries(rs *readSeries) error
	Append(t int64, v float64) error
	AppendHistogram(t int64, h *prompb.Histogram) error
	EndSeries() error
}

// handleRead serves POST /api/v1/read. Every query is planned first (its
// series found and counted), so that bad queries, the sample limit and an
// unreachable database are answered with their status code before the first
// byte of a streamed answer.
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	st := s.state.Load()
	req, err := remote.DecodeRead(r, st.cfg.Limits)
	if err != nil {
		writeError(w, s.logger, decodeError(err))
		return
	}
	respType, err := remote.NegotiateReadResponse(req.AcceptedResponseTypes)
	if err != nil {
		writeError(w, s.logger, badRequest(err.Error()))
		return
	}
	only := r.URL.Query().Get("db")
	switch {
	case only == "":
	case st.pools[only] == nil:
		writeError(w, s.logger, badRequest(fmt.Sprintf("unknown database %q in ?db= (configured: %s)", only, strings.Join(st.names(), ", "))))
		return
	case st.pools[only].WriteOnly():
		writeError(w, s.logger, badRequest(fmt.Sprintf("database %q in ?db= is write-only (transport: udp) and cannot be read", only)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(st.cfg.Read.Timeout))
	defer cancel()

	plans := make([]*readPlan, len(req.Queries))
	for i, q := range req.Queries {
		if plans[i], err = s.plan(ctx, st, q, only); err != nil {
			writeError(w, s.logger, fmt.Errorf("query %d: %w", i, err))
			return
		}
	}

	switch respType {
	case prompb.ReadRequest_STREAMED_XOR_CHUNKS:
		cw := remote.NewChunkedWriter(w, remote.DefaultMaxFrameBytes)
		for i, p := range plans {
			if err := s.fetch(ctx, p, &chunkedSink{cw: cw, index: int64(i)}); err != nil {
				// The status line is gone: abort the connection, so that
				// the client sees a broken stream, not a short answer.
				s.readAborted(err)
				panic(http.ErrAbortHandler)
			}
		}
	default:
		resp := &prompb.ReadResponse{Results: make([]*prompb.QueryResult, len(plans))}
		for i, p := range plans {
			sink := &samplesSink{}
			if err := s.fetch(ctx, p, sink); err != nil {
				writeError(w, s.logger, readError(fmt.Errorf("query %d: %w", i, err)))
				return
			}
			resp.Results[i] = &prompb.QueryResult{Timeseries: sink.series}
		}
		if err := remote.WriteReadResponse(w, resp); err != nil {
			s.readAborted(err)
		}
	}
}

// plan finds every series matching q in the databases that can hold it,
// merges the same series from several databases, checks the sample limit
// and sorts the series as Prometheus does.
func (s *Server) plan(ctx context.Context, st *state, q *prompb.Query, only string) (*readPlan, error) {
	sel, err := mapping.NewSelection(q)
	if err != nil {
		return nil, badRequest(err.Error())
	}
	dbs := []string{only}
	if only == "" {
		dbs = st.router.ReadDatabases(sel.Matchers())
	}
	p := &readPlan{sel: sel}
	byLabels := map[string]*readSeries{}
	var total int64
	var writeOnly []string
	for _, db := range dbs {
		pool, rp := st.pools[db], st.rp[db]
		if pool.WriteOnly() {
			// Fire-and-forget UDP has no query API: what it wrote is read
			// through an http entry for the same InfluxDB database.
			writeOnly = append(writeOnly, db)
			continue
		}
		err := pool.QueryStream(ctx, sel.DiscoveryQuery(rp), func(c *influxworker.SeriesChunk) error {
			lbls, err := mapping.SeriesLabels(c.Name, c.Tags)
			if err != nil {
				return fmt.Errorf("%w: database %q: measurement %q: %w", errStoredValue, db, c.Name, err)
			}
			count, histograms := discoveredCounts(c)
			if count == 0 || !sel.Matches(lbls) {
				return nil
			}
			total += count
			if total > st.cfg.Read.MaxSamples {
				return errTooManySamples{limit: st.cfg.Read.MaxSamples}
			}
			key := labelsKey(lbls)
			rs := byLabels[key]
			if rs == nil {
				rs = &readSeries{labels: lbls}
				byLabels[key] = rs
				p.series = append(p.series, rs)
			}
			rs.sources = append(rs.sources, readSource{pool: pool, rp: rp, measurement: c.Name, tags: presentTags(c.Tags), count: count, histograms: histograms})
			rs.count += count
			return nil
		})
		if err != nil {
			return nil, readError(err)
		}
	}
	if len(writeOnly) == len(dbs) {
		// An empty answer would read as "no such data".
		return nil, badRequest(fmt.Sprintf("the selector's series are stored only in write-only databases (transport: udp), which cannot be read: %s", strings.Join(writeOnly, ", ")))
	}
	slices.SortFunc(p.series, func(a, b *readSeries) int { return mapping.CompareLabels(a.labels, b.labels) })
	return p, nil
}

// presentTags copies the tags a series has. With GROUP BY * InfluxDB lists
// every tag key of every measurement read, "" for the keys the series
// lacks; a series is named by the others.
func presentTags(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// readAborted records a read answer that broke off after its status was
// sent: the client went away, or a database failed mid-stream.
func (s *Server) readAborted(err error) {
	s.metrics.readsAborted.Inc()
	level.Warn(s.logger).Log("msg", "remote read aborted after the answer started", "err", err)
}

// errTooManySamples is a query over read.max_samples.
type errTooManySamples struct{ limit int64 }

func (e errTooManySamples) Error() string {
	return fmt.Sprintf("query would return more than read.max_samples (%d) samples: narrow the time range or the selector", e.limit)
}

// readError gives a failed read its status: the sample limit and refused
// queries are the client's (400), the rest is the database's (503).
func readError(err error) error {
	var he *httpError
	var tooMany errTooManySamples
	switch {
	case errors.As(err, &he):
		return err
	case errors.As(err, &tooMany):
		return badRequest(err.Error())
	case errors.Is(err, errStoredValue):
		return &httpError{http.StatusInternalServerError, err.Error()}
	case influxworker.IsPermanent(err):
		return badRequest("database refused the query: " + err.Error())
	default:
		return unavailable("cannot read from the database, retry later: " + err.Error())
	}
}

// fetch reads the samples of every series of p, in p's order, into sink.
func (s *Server) fetch(ctx context.Context, p *readPlan, sink seriesSink) error {
	for i := 0; i < len(p.series); {
		n := batchLen(p.series[i:])
		batch := p.series[i : i+n]
		var err error
		if batch[0].alone() {
			err = s.fetchAlone(ctx, p.sel, batch[0], sink)
		} else {
			err = s.fetchBatch(ctx, p.sel, batch, sink)
		}
		if err != nil {
			return err
		}
		i += n
	}
	return nil
}

// batchLen is how many series from the head of series one statement reads:
// consecutive series stored in one place (database and measurement), within
// the batch limits. A series stored in several databases is read alone.
func batchLen(series []*readSeries) int {
	first := series[0]
	if first.alone() {
		return 1
	}
	n, samples := 1, first.count
	for ; n < len(series) && n < maxBatchSeries; n++ {
		next := series[n]
		if next.alone() || next.sources[0].pool != first.sources[0].pool ||
			next.sources[0].measurement != first.sources[0].measurement || samples+next.count > maxBatchSamples {
			break
		}
		samples += next.count
	}
	return n
}

// fetchBatch streams the samples of series stored in one measurement of
// one database. InfluxDB sends the series in its own order; the one due
// next in label order goes straight to the sink, the others wait in
// memory until their turn (bounded by the batch limits).
func (s *Server) fetchBatch(ctx context.Context, sel *mapping.Selection, batch []*readSeries, sink seriesSink) error {
	src := batch[0].sources[0]
	tags := make([]map[string]string, len(batch))
	index := make(map[string]int, len(batch))
	for i, rs := range batch {
		tags[i] = rs.sources[0].tags
		index[tagsKey(rs.sources[0].tags)] = i
	}
	o := &batchOrder{sink: sink, series: batch, waiting: map[int]*waitingSeries{}, current: -1}
	var values []float64
	err := src.pool.QueryStream(ctx, sel.FetchQuery(src.rp, src.measurement, tags), func(c *influxworker.SeriesChunk) error {
		i, ok := index[tagsKey(c.Tags)]
		if !ok {
			return nil // a series that appeared since discovery: not part of this answer
		}
		var err error
		if values, err = chunkValues(c, values[:0]); err != nil {
			return err
		}
		return o.add(i, c.Times, values, !c.Partial)
	})
	if err != nil {
		return err
	}
	return o.finish()
}

// batchOrder puts the series of one batch, arriving in InfluxDB's order,
// into label order.
type batchOrder struct {
	sink    seriesSink
	series  []*readSeries
	next    int // index of the series the sink gets next
	current int // index of the series being streamed to the sink, or -1
	waiting map[int]*waitingSeries
}

type waitingSeries struct {
	times    []int64
	values   []float64
	complete bool
}

func (o *batchOrder) add(i int, times []int64, values []float64, complete bool) error {
	if i < o.next {
		return nil // already answered: a duplicate chunk cannot change it
	}
	if i == o.next {
		if o.current != i {
			if err := o.sink.StartSeries(o.series[i]); err != nil {
				return err
			}
			o.current = i
		}
		for j := range times {
			if err := o.sink.Append(times[j], values[j]); err != nil {
				return err
			}
		}
		if !complete {
			return nil
		}
		if err := o.sink.EndSeries(); err != nil {
			return err
		}
		o.next, o.current = i+1, -1
		return o.flushWaiting(false)
	}
	ws := o.waiting[i]
	if ws == nil {
		ws = &waitingSeries{}
		o.waiting[i] = ws
	}
	ws.times = append(ws.times, times...)
	ws.values = append(ws.values, values...)
	ws.complete = complete
	return nil
}

// flushWaiting hands the sink the waiting series that are due. At the end
// of the stream (final) every waiting series is due: series that never
// arrived had no samples left.
func (o *batchOrder) flushWaiting(final bool) error {
	for o.next < len(o.series) {
		ws := o.waiting[o.next]
		if ws == nil || !ws.complete {
			if !final {
				return nil
			}
			if ws == nil {
				o.next++
				continue
			}
		}
		delete(o.waiting, o.next)
		if err := emit(o.sink, o.series[o.next], ws.times, ws.values); err != nil {
			return err
		}
		o.next++
	}
	return nil
}

func (o *batchOrder) finish() error {
	if o.current >= 0 {
		// The stream ended inside the series being streamed.
		if err := o.sink.EndSeries(); err != nil {
			return err
		}
		o.next, o.current = o.current+1, -1
	}
	return o.flushWaiting(true)
}

// readSample is one sample of a series read on its own: a float, or a
// native histogram when h is set.
type readSample struct {
	t int64
	v float64
	h *prompb.Histogram
}

// fetchAlone reads one series from every database it is stored in, floats
// and native histograms, and merges them by timestamp: the same timestamp
// from two sources is one sample (the first source's).
func (s *Server) fetchAlone(ctx context.Context, sel *mapping.Selection, rs *readSeries, sink seriesSink) error {
	var merged []readSample
	for _, src := range rs.sources {
		samples, err := fetchSource(ctx, sel, src)
		if err != nil {
			return err
		}
		merged = mergeSamples(merged, samples)
	}
	if len(merged) == 0 {
		return nil
	}
	if err := sink.StartSeries(rs); err != nil {
		return err
	}
	for _, smp := range merged {
		var err error
		if smp.h != nil {
			err = sink.AppendHistogram(smp.t, smp.h)
		} else {
			err = sink.Append(smp.t, smp.v)
		}
		if err != nil {
			return err
		}
	}
	return sink.EndSeries()
}

// fetchSource reads the floats and the native histograms of one stored
// series, in time order.
func fetchSource(ctx context.Context, sel *mapping.Selection, src readSource) ([]readSample, error) {
	tags := []map[string]string{src.tags}
	key := tagsKey(src.tags)
	var floats []readSample
	var values []float64
	err := src.pool.QueryStream(ctx, sel.FetchQuery(src.rp, src.measurement, tags), func(c *influxworker.SeriesChunk) error {
		if tagsKey(c.Tags) != key {
			return nil
		}
		var err error
		if values, err = chunkValues(c, values[:0]); err != nil {
			return err
		}
		for i, v := range values {
			floats = append(floats, readSample{t: c.Times[i], v: v})
		}
		return nil
	})
	if err != nil || src.histograms == 0 {
		return floats, err
	}
	var hists []readSample
	nums := make([]float64, len(mapping.HistogramColumns))
	text := make([]string, len(mapping.HistogramColumns))
	err = src.pool.QueryStream(ctx, sel.HistogramFetchQuery(src.rp, src.measurement, tags), func(c *influxworker.SeriesChunk) error {
		if tagsKey(c.Tags) != key {
			return nil
		}
		for i, t := range c.Times {
			for col := range nums {
				nums[col], text[col] = cell(c, col, i)
			}
			h, ok, err := mapping.DecodeHistogram(t, nums, text)
			if err != nil {
				return fmt.Errorf("%w: measurement %q at %d: %w", errStoredValue, c.Name, t, err)
			}
			if ok {
				hists = append(hists, readSample{t: t, h: &h})
			}
		}
		return nil
	})
	return mergeSamples(floats, hists), err
}

// cell is value column col of row i of a chunk, as a number (NaN when null
// or not a number) and as text ("" when not a string).
func cell(c *influxworker.SeriesChunk, col, i int) (float64, string) {
	num := math.NaN()
	switch {
	case col == 0:
		num = c.Values[i]
	case col-1 < len(c.Extra):
		num = c.Extra[col-1][i]
	}
	var text string
	if col < len(c.Text) {
		text = c.Text[col][i]
	}
	return num, text
}

// mergeSamples merges two time-ordered sample lists; on equal timestamps the
// first list's sample is kept.
func mergeSamples(a, b []readSample) []readSample {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]readSample, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].t < b[j].t:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].t < a[i].t:
			out = append(out, b[j])
			j++
		default: // same timestamp
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// discoveredCounts reads a discovery row's count columns, NaN when null.
func discoveredCounts(c *influxworker.SeriesChunk) (samples, histograms int64) {
	var counts [3]float64
	for i := range counts {
		counts[i], _ = cell(c, i, 0)
	}
	return mapping.DiscoveryCounts(counts[:])
}

// errStoredValue marks a stored point that is not a valid encoding of a
// sample: the database's content is at fault, neither the client nor the
// database's availability.
var errStoredValue = errors.New("invalid stored sample")

// chunkValues appends to dst the sample value of every row of a fetched
// chunk (mapping.SampleValue of its two columns).
func chunkValues(c *influxworker.SeriesChunk, dst []float64) ([]float64, error) {
	for i := range c.Times {
		value, _ := cell(c, 0, i)
		special, _ := cell(c, 1, i)
		v, err := mapping.SampleValue(value, special)
		if err != nil {
			return dst, fmt.Errorf("%w: measurement %q at %d: %w", errStoredValue, c.Name, c.Times[i], err)
		}
		dst = append(dst, v)
	}
	return dst, nil
}

func emit(sink seriesSink, rs *readSeries, times []int64, values []float64) error {
	if len(times) == 0 {
		return nil
	}
	if err := sink.StartSeries(rs); err != nil {
		return err
	}
	for i := range times {
		if err := sink.Append(times[i], values[i]); err != nil {
			return err
		}
	}
	return sink.EndSeries()
}

// chunkedSink streams one query's series as STREAMED_XOR_CHUNKS frames.
type chunkedSink struct {
	cw    *remote.ChunkedWriter
	index int64
}

func (c *chunkedSink) StartSeries(rs *readSeries) error { return c.cw.StartSeries(c.index, rs.labels) }
func (c *chunkedSink) Append(t int64, v float64) error  { return c.cw.Append(t, v) }
func (c *chunkedSink) EndSeries() error                 { return c.cw.EndSeries() }
func (c *chunkedSink) AppendHistogram(t int64, h *prompb.Histogram) error {
	return c.cw.AppendHistogram(t, h)
}

// maxPresizedSamples caps the capacity taken on trust from a discovered
// count; a series that grew since discovery grows its slice as usual.
const maxPresizedSamples = 1 << 20

// samplesSink collects one query's series for a SAMPLES response.
type samplesSink struct {
	series []*prompb.TimeSeries
}

// StartSeries sizes the series from its discovered count: the whole answer
// is held in memory, so growing slices by doubling would cost up to twice
// that.
func (s *samplesSink) StartSeries(rs *readSeries) error {
	s.series = append(s.series, &prompb.TimeSeries{Labels: rs.labels, Samples: make([]prompb.Sample, 0, min(rs.count, maxPresizedSamples))})
	return nil
}

func (s *samplesSink) Append(t int64, v float64) error {
	ts := s.series[len(s.series)-1]
	ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: t, Value: v})
	return nil
}

func (s *samplesSink) AppendHistogram(t int64, h *prompb.Histogram) error {
	ts := s.series[len(s.series)-1]
	h.Timestamp = t
	ts.Histograms = append(ts.Histograms, *h)
	return nil
}

func (s *samplesSink) EndSeries() error {
	if ts := s.series[len(s.series)-1]; len(ts.Samples)+len(ts.Histograms) == 0 {
		s.series = s.series[:len(s.series)-1]
	}
	return nil
}

// labelsKey identifies a label set; \xff cannot occur in valid UTF-8.
func labelsKey(lbls []prompb.Label) string {
	var b strings.Builder
	for _, l := range lbls {
		b.WriteString(l.Name)
		b.WriteByte(0xff)
		b.WriteString(l.Value)
		b.WriteByte(0xff)
	}
	return b.String()
}

// tagsKey identifies a stored tag set as InfluxDB reports it (empty values
// are absent tags).
func tagsKey(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k, v := range tags {
		if v != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0xff)
		b.WriteString(tags[k])
		b.WriteByte(0xff)
	}
	return b.String()
}
