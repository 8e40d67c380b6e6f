package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/remote"
)

// InfluxDB builds the whole answer of /api/v1/prom/read in memory, and so
// does promflux before it can check it: a run is read in groups of series
// whose size follows the samples per series seen so far.
const (
	// maxPromReadSeries bounds a group, and the regex of its values.
	maxPromReadSeries = 1000
	// maxPromReadBytes bounds an answer, compressed and decoded. A group
	// over it is read again in smaller ones, a single series through
	// /query, which streams.
	maxPromReadBytes = 64 << 20
)

// promReadSamples is what one group should return: 4 MiB of samples
// decoded, about as many as maxWaitingSamples. Tests lower it to read a
// few series in many groups.
var promReadSamples int64 = 1 << 18

// fetchPromRead reads a run of series found in the index: their special
// values, if any, through /query first, then their floats through
// InfluxDB's own /api/v1/prom/read, a group at a time (see askPromRead).
// The next group is asked for while the sink takes the last one; at most
// three answers are held (being answered, waiting, arriving). It returns
// how many series of the run it answered: when the server has no such
// endpoint (influxworker.ErrNoPromRead) the caller reads the rest through
// /query.
func fetchPromRead(ctx context.Context, sel *mapping.Selection, run []*readSeries, sink seriesSink) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	groups := make(chan promReadGroup, 1)
	go askPromRead(ctx, sel, run, groups)
	// Whatever happens, let askPromRead see the cancel and end.
	defer func() {
		cancel()
		for range groups {
		}
	}()
	var specials map[string][]readSample
	if src := run[0].sources[0]; src.specials {
		var ok bool
		var err error
		if specials, ok, err = fetchSpecials(ctx, sel, src); err != nil {
			return 0, err
		} else if !ok {
			// Too many to hold: read the run through /query.
			return len(run), fetchRun(ctx, sel, run, sel.MeasurementQuery(src.rp, src.measurement), sink)
		}
	}
	done := 0
	for g := range groups {
		var err error
		switch {
		case g.err != nil:
			err = g.err
		case g.resp == nil: // over maxPromReadBytes alone: /query streams it
			err = fetchRun(ctx, sel, g.series, seriesQuery(sel, g.series[0].sources[0]), sink)
		default:
			err = emitPromRead(g, specials, sink)
		}
		if err != nil {
			return done, err
		}
		done += len(g.series)
	}
	return done, nil
}

// fetchSpecials reads the special values of the series of src's
// measurement that may match, by their stored tags (tagsKey), up to
// maxWaitingSamples of them: ok is false past that.
func fetchSpecials(ctx context.Context, sel *mapping.Selection, src readSource) (map[string][]readSample, bool, error) {
	out := map[string][]readSample{}
	n := 0
	errTooMany := errors.New("too many special values")
	err := src.pool.QueryStream(ctx, sel.SpecialsQuery(src.rp, src.measurement), func(c *influxworker.SeriesChunk) error {
		if n += len(c.Times); n > maxWaitingSamples {
			return errTooMany
		}
		key := tagsKey(c.Tags)
		for i, t := range c.Times {
			v, err := mapping.SpecialValue(c.Values[i])
			if err != nil {
				return fmt.Errorf("%w: measurement %q at %d: %w", errStoredValue, c.Name, t, err)
			}
			out[key] = append(out[key], readSample{t: t, v: v})
		}
		return nil
	})
	if errors.Is(err, errTooMany) {
		return nil, false, nil
	}
	return out, err == nil, err
}

// promReadGroup is the answer to one request of fetchPromRead: resp for
// series, nil when the answer of the one series would pass
// maxPromReadBytes, or the error that ended the run.
type promReadGroup struct {
	series []*readSeries
	resp   [][]remote.FloatSeries
	err    error
}

// askPromRead sends the requests of a run, in order, into groups, and
// closes it. After the first, each group holds as many series as
// promReadSamples allows at the samples per series seen so far; a group
// whose answer passes maxPromReadBytes is asked again in quarters.
func askPromRead(ctx context.Context, sel *mapping.Selection, run []*readSeries, groups chan<- promReadGroup) {
	defer close(groups)
	send := func(g promReadGroup) bool {
		select {
		case groups <- g:
			return g.err == nil
		case <-ctx.Done():
			return false
		}
	}
	done, size := 0, firstGroupSize(sel)
	var seenSeries, seenSamples int
	for done < len(run) {
		group := run[done:groupEnd(run, done, min(done+size, len(run)))]
		resp, err := askPromReadGroup(ctx, sel, group)
		switch {
		case errors.Is(err, remote.ErrTooLarge) && len(group) > 1:
			size = max(1, len(group)/4)
			continue
		case errors.Is(err, remote.ErrTooLarge):
			resp, err = nil, nil
		}
		if !send(promReadGroup{series: group, resp: resp, err: err}) {
			return
		}
		done += len(group)
		seenSeries += len(group)
		for _, res := range resp {
			for _, ts := range res {
				seenSamples += len(ts.Samples)
			}
		}
		size = min(maxPromReadSeries, max(1, int(promReadSamples)*seenSeries/max(1, seenSamples)))
	}
}

// groupEnd is where the group run[start:end] should end so that its
// request asks for no series of the next group. The request names the
// values of each label the group's series have, so InfluxDB answers
// every series of their cross product: a group cut inside a block of
// series that share their first labels (say cpu="1", in the middle of
// its instances) would also get the next block's series for every
// instance (cpu=~"0|1", instance=~"..."), read again by the next group.
// A group whose last block goes on past end ends before that block
// instead. Blocks are as deep as the group's first and last series share
// labels: the group holds at least two.
func groupEnd(run []*readSeries, start, end int) int {
	if end >= len(run) || end-start < 2 {
		return end
	}
	var last []labels.Label
	run[end-1].labels.Range(func(l labels.Label) { last = append(last, l) })
	block := commonLabels(last, run[start].labels) + 1
	if commonLabels(last, run[end].labels) < block {
		return end // the next group starts a block
	}
	i := end - 1
	for commonLabels(last, run[i-1].labels) >= block {
		i--
	}
	return i
}

// commonLabels is how many labels lbls has in common with first, from the
// first one.
func commonLabels(first []labels.Label, lbls labels.Labels) int {
	n, differ := 0, false
	lbls.Range(func(l labels.Label) {
		if differ = differ || n == len(first) || first[n] != l; !differ {
			n++
		}
	})
	return n
}

// firstGroupSize is the size of a run's first group, before any series
// was read: as many series as fit in promReadSamples if each had a sample
// every second of the time range (Prometheus scrapes less often), so that
// the range a dashboard reads (an hour: 72 series) costs one request,
// and a month one series at a time until the samples per series are known.
func firstGroupSize(sel *mapping.Selection) int {
	d := sel.End() - sel.Start()
	if sel.End() >= sel.Start() && d < 0 {
		return 1 // a range wider than int64 milliseconds
	}
	perSeries := max(1, d/1000+1) // an empty range (refused by remote) reads nothing
	if perSeries > promReadSamples {
		return 1
	}
	return int(min(maxPromReadSeries, promReadSamples/perSeries))
}

// askPromReadGroup reads the series of group with one request.
func askPromReadGroup(ctx context.Context, sel *mapping.Selection, group []*readSeries) ([][]remote.FloatSeries, error) {
	src := group[0].sources[0]
	tags := make([]map[string]string, len(group))
	for i, rs := range group {
		tags[i] = tagsOf(rs.sources[0].key)
	}
	body, err := remote.EncodeReadRequest(sel.PromReadQuery(src.measurement, tags))
	if err != nil {
		return nil, err
	}
	var resp [][]remote.FloatSeries
	err = src.pool.PromRead(ctx, body, func(r io.Reader) error {
		var err error
		resp, err = remote.ReadSamplesResponse(r, maxPromReadBytes)
		return err
	})
	return resp, err
}

// emitPromRead hands the series of an answer to sink in the group's
// order, with their special values merged in (a float wins over a special
// value at the same timestamp, as in mapping.SampleValue). A series with
// neither had no sample in the time range.
func emitPromRead(g promReadGroup, specials map[string][]readSample, sink seriesSink) error {
	byTags := map[string][]remote.FloatSample{}
	for _, res := range g.resp {
		for _, ts := range res {
			byTags[labelTagsKey(ts.Labels)] = ts.Samples
		}
	}
	for _, rs := range g.series {
		key := rs.sources[0].key
		floats, sp := byTags[key], specials[key]
		if len(floats)+len(sp) == 0 {
			continue
		}
		if err := sink.StartSeries(rs); err != nil {
			return err
		}
		i, j := 0, 0
		for i < len(floats) || j < len(sp) {
			var err error
			switch {
			case j == len(sp) || i < len(floats) && floats[i].T <= sp[j].t:
				if j < len(sp) && floats[i].T == sp[j].t {
					j++
				}
				err = sink.Append(floats[i].T, floats[i].V)
				i++
			default:
				err = sink.Append(sp[j].t, sp[j].v)
				j++
			}
			if err != nil {
				return err
			}
		}
		if err := sink.EndSeries(); err != nil {
			return err
		}
	}
	return nil
}

// labelTagsKey is tagsKey of the stored tags /api/v1/prom/read reports as
// labels.
func labelTagsKey(lbls []prompb.Label) string {
	tags := make(map[string]string, len(lbls))
	for _, l := range lbls {
		tags[l.Name] = l.Value
	}
	return tagsKey(tags)
}
