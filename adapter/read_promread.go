package adapter

import (
	"context"
	"errors"
	"io"

	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/remote"
)

// InfluxDB builds the whole answer of /api/v1/prom/read in memory, and so
// does promflux before it can check it: a run is read in groups of series
// whose size follows the samples per series seen so far.
const (
	// promReadSamples is what one group should return: 4 MiB of samples
	// decoded, about as many as maxWaitingSamples.
	promReadSamples = 1 << 18
	// maxPromReadSeries bounds a group, and the regex of its values.
	maxPromReadSeries = 1000
	// maxPromReadBytes bounds an answer, compressed and decoded. A group
	// over it is read again in smaller ones, a single series through
	// /query, which streams.
	maxPromReadBytes = 64 << 20
)

// fetchPromRead reads a run of series through InfluxDB's own
// /api/v1/prom/read, a group at a time, the first of one series. It returns
// how many series of the run it answered: when the server turns out to
// have no such endpoint (influxworker.ErrNoPromRead) the caller reads the
// rest through /query.
func fetchPromRead(ctx context.Context, sel *mapping.Selection, run []*readSeries, sink seriesSink) (int, error) {
	done, size := 0, 1
	var seenSeries, seenSamples int
	for done < len(run) {
		group := run[done:min(done+size, len(run))]
		samples, err := fetchPromReadGroup(ctx, sel, group, sink)
		switch {
		case errors.Is(err, remote.ErrTooLarge) && len(group) > 1:
			size = max(1, len(group)/4)
			continue
		case errors.Is(err, remote.ErrTooLarge):
			err = fetchRun(ctx, sel, group, seriesQuery(sel, group[0].sources[0]), sink)
		}
		if err != nil {
			return done, err
		}
		done += len(group)
		seenSeries += len(group)
		seenSamples += samples
		size = min(maxPromReadSeries, max(1, promReadSamples*seenSeries/max(1, seenSamples)))
	}
	return done, nil
}

// fetchPromReadGroup reads the series of group with one request and hands
// them to sink in group's order. A series that does not come back, although
// discovery found a sample (a field "value" another writer stored as an
// integer, which the endpoint skips), is read again through /query. It
// returns the samples read.
func fetchPromReadGroup(ctx context.Context, sel *mapping.Selection, group []*readSeries, sink seriesSink) (int, error) {
	src := group[0].sources[0]
	tags := make([]map[string]string, len(group))
	for i, rs := range group {
		tags[i] = rs.sources[0].tags
	}
	body, err := remote.EncodeReadRequest(sel.PromReadQuery(src.measurement, tags))
	if err != nil {
		return 0, err
	}
	var resp *prompb.ReadResponse
	err = src.pool.PromRead(ctx, body, func(r io.Reader) error {
		var err error
		resp, err = remote.ReadSamplesResponse(r, maxPromReadBytes)
		return err
	})
	if err != nil {
		return 0, err
	}
	byTags := map[string]*prompb.TimeSeries{}
	for _, res := range resp.Results {
		for _, ts := range res.Timeseries {
			byTags[labelTagsKey(ts.Labels)] = ts
		}
	}
	samples := 0
	for i, rs := range group {
		ts := byTags[tagsKey(tags[i])]
		if ts == nil || len(ts.Samples) == 0 {
			if err := fetchRun(ctx, sel, []*readSeries{rs}, seriesQuery(sel, rs.sources[0]), sink); err != nil {
				return samples, err
			}
			continue
		}
		if err := sink.StartSeries(rs); err != nil {
			return samples, err
		}
		for _, s := range ts.Samples {
			if err := sink.Append(s.Timestamp, s.Value); err != nil {
				return samples, err
			}
		}
		if err := sink.EndSeries(); err != nil {
			return samples, err
		}
		samples += len(ts.Samples)
	}
	return samples, nil
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
