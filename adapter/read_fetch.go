package adapter

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
)

// maxWaitingSamples bounds the samples a run holds while InfluxDB sends its
// series in another order than Prometheus's (a series without a label that
// its neighbours have comes first in InfluxDB's order, last in
// Prometheus's): 4 MiB of timestamps and values. A series that would pass
// it is dropped from the run's answer and read again on its own when its
// turn comes, so that memory stays flat whatever the order.
const maxWaitingSamples = 1 << 18

// fetch reads the samples of every series of p, in p's order, into sink.
// Consecutive series of one measurement of one database (a run) are read
// with one statement, MeasurementQuery, whose cost grows with the samples
// it returns; a run of one series names its tags instead. A series read
// alone (several databases, native histograms) gets queries of its own.
func (s *Server) fetch(ctx context.Context, p *readPlan, sink seriesSink) error {
	for i := 0; i < len(p.series); {
		n := runLen(p.series[i:])
		run := p.series[i : i+n]
		var err error
		switch {
		case run[0].alone():
			err = fetchAlone(ctx, p.sel, run[0], sink)
		case run[0].sources[0].promRead && run[0].sources[0].pool.PromReadable():
			var done int
			done, err = fetchPromRead(ctx, p.sel, run, sink)
			if errors.Is(err, influxworker.ErrNoPromRead) {
				src := run[0].sources[0]
				err = fetchRun(ctx, p.sel, run[done:], p.sel.MeasurementQuery(src.rp, src.measurement), sink)
			}
		case n == 1:
			err = fetchRun(ctx, p.sel, run, seriesQuery(p.sel, run[0].sources[0]), sink)
		default:
			src := run[0].sources[0]
			err = fetchRun(ctx, p.sel, run, p.sel.MeasurementQuery(src.rp, src.measurement), sink)
		}
		if err != nil {
			return err
		}
		// Answered: its labels and tags need not stay in memory.
		clear(p.series[i : i+n])
		i += n
	}
	return nil
}

// runLen is how many series from the head of series are read together:
// consecutive series stored in one place (database and measurement), read
// through the same endpoint, and not read alone.
func runLen(series []*readSeries) int {
	first := series[0]
	if first.alone() {
		return 1
	}
	n := 1
	for ; n < len(series); n++ {
		next := series[n]
		if next.alone() || next.sources[0].pool != first.sources[0].pool ||
			next.sources[0].measurement != first.sources[0].measurement ||
			next.sources[0].promRead != first.sources[0].promRead {
			break
		}
	}
	return n
}

// seriesQuery selects the samples of one stored series by its tags.
func seriesQuery(sel *mapping.Selection, src readSource) string {
	return sel.FetchQuery(src.rp, src.measurement, []map[string]string{tagsOf(src.key)})
}

// fetchRun streams the samples of a run of series stored in one
// measurement of one database, read with q. InfluxDB sends the series in
// its own order; the one due next in label order goes straight to the
// sink, the others wait in memory until their turn, within
// maxWaitingSamples.
func fetchRun(ctx context.Context, sel *mapping.Selection, run []*readSeries, q string, sink seriesSink) error {
	src := run[0].sources[0]
	index := make(map[string]int, len(run))
	for i, rs := range run {
		index[rs.sources[0].key] = i
	}
	o := newRunOrder(sink, run, maxWaitingSamples)
	var values []float64
	err := src.pool.QueryStream(ctx, q, func(c *influxworker.SeriesChunk) error {
		i, ok := index[tagsKey(c.Tags)]
		if !ok {
			return nil // a series the matchers reject, or new since discovery
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
	return o.finish(func(rs *readSeries) error {
		return fetchRun(ctx, sel, []*readSeries{rs}, seriesQuery(sel, rs.sources[0]), sink)
	})
}

// runOrder puts the series of one run, arriving in InfluxDB's order, into
// label order.
type runOrder struct {
	sink    seriesSink
	series  []*readSeries
	next    int // index of the series the sink gets next
	current int // index of the series being streamed to the sink, or -1
	waiting map[int]*waitingSeries
	// waitingSamples counts the samples in waiting, at most maxWaiting.
	waitingSamples, maxWaiting int
	// missed are series whose samples did not fit in waiting: they are
	// read again on their own.
	missed map[int]bool
}

func newRunOrder(sink seriesSink, run []*readSeries, maxWaiting int) *runOrder {
	return &runOrder{sink: sink, series: run, current: -1, waiting: map[int]*waitingSeries{}, missed: map[int]bool{}, maxWaiting: maxWaiting}
}

type waitingSeries struct {
	times    []int64
	values   []float64
	complete bool
}

func (o *runOrder) add(i int, times []int64, values []float64, complete bool) error {
	switch {
	case i < o.next || o.missed[i]:
		return nil // already answered, or to be read again
	case i > o.next:
		ws := o.waiting[i]
		if o.waitingSamples+len(times) > o.maxWaiting {
			o.missed[i] = true
			if ws != nil {
				o.waitingSamples -= len(ws.times)
				delete(o.waiting, i)
			}
			return nil
		}
		if ws == nil {
			ws = &waitingSeries{}
			o.waiting[i] = ws
		}
		ws.times = append(ws.times, times...)
		ws.values = append(ws.values, values...)
		ws.complete = complete
		o.waitingSamples += len(times)
		return nil
	}
	if o.current != i {
		if err := o.sink.StartSeries(o.series[i]); err != nil {
			return err
		}
		o.current = i
		if ws := o.waiting[i]; ws != nil {
			// Its first chunks came while another series was due.
			if err := appendAll(o.sink, ws.times, ws.values); err != nil {
				return err
			}
			o.waitingSamples -= len(ws.times)
			delete(o.waiting, i)
		}
	}
	if err := appendAll(o.sink, times, values); err != nil {
		return err
	}
	if !complete {
		return nil
	}
	if err := o.sink.EndSeries(); err != nil {
		return err
	}
	o.next, o.current = i+1, -1
	return o.flushWaiting()
}

// flushWaiting hands the sink the waiting series that are due.
func (o *runOrder) flushWaiting() error {
	for o.next < len(o.series) {
		ws := o.waiting[o.next]
		if ws == nil || !ws.complete {
			return nil
		}
		if err := o.emitWaiting(o.next, ws); err != nil {
			return err
		}
		o.next++
	}
	return nil
}

func (o *runOrder) emitWaiting(i int, ws *waitingSeries) error {
	delete(o.waiting, i)
	o.waitingSamples -= len(ws.times)
	if err := o.sink.StartSeries(o.series[i]); err != nil {
		return err
	}
	if err := appendAll(o.sink, ws.times, ws.values); err != nil {
		return err
	}
	return o.sink.EndSeries()
}

// finish completes the run after InfluxDB's answer ended: every series
// still due is either waiting, missed (and read again with readAlone), or
// had no samples left.
func (o *runOrder) finish(readAlone func(*readSeries) error) error {
	if o.current >= 0 {
		// The answer ended inside the series being streamed.
		if err := o.sink.EndSeries(); err != nil {
			return err
		}
		o.next, o.current = o.current+1, -1
	}
	for ; o.next < len(o.series); o.next++ {
		var err error
		if ws := o.waiting[o.next]; ws != nil {
			err = o.emitWaiting(o.next, ws)
		} else if o.missed[o.next] {
			err = readAlone(o.series[o.next])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func appendAll(sink seriesSink, times []int64, values []float64) error {
	for i := range times {
		if err := sink.Append(times[i], values[i]); err != nil {
			return err
		}
	}
	return nil
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
func fetchAlone(ctx context.Context, sel *mapping.Selection, rs *readSeries, sink seriesSink) error {
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
	tags := []map[string]string{tagsOf(src.key)}
	key := src.key
	var floats []readSample
	var values []float64
	err := src.pool.QueryStream(ctx, seriesQuery(sel, src), func(c *influxworker.SeriesChunk) error {
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
	if err != nil || !src.histograms {
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
				nums[col], text[col] = c.Cell(col, i)
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

// chunkValues appends to dst the sample value of every row of a fetched
// chunk (mapping.SampleValue of its two columns).
func chunkValues(c *influxworker.SeriesChunk, dst []float64) ([]float64, error) {
	for i := range c.Times {
		value, _ := c.Cell(0, i)
		special, _ := c.Cell(1, i)
		v, err := mapping.SampleValue(value, special)
		if err != nil {
			return dst, fmt.Errorf("%w: measurement %q at %d: %w", errStoredValue, c.Name, c.Times[i], err)
		}
		dst = append(dst, v)
	}
	return dst, nil
}
