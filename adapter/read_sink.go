package adapter

import (
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/remote"
)

// seriesSink receives the series of one query in label order, sample by
// sample: either a streamed response or a SAMPLES result being built.
type seriesSink interface {
	StartSeries(rs *readSeries) error
	Append(t int64, v float64) error
	AppendHistogram(t int64, h *prompb.Histogram) error
	EndSeries() error
	// Series hands over a whole series of float samples at once, outside
	// StartSeries and EndSeries; the sink may keep samples.
	Series(rs *readSeries, samples []prompb.Sample) error
}

// limitSink passes samples on until read.max_samples of them, then fails
// with errTooManySamples.
type limitSink struct {
	seriesSink
	limit, n int64
}

func (l *limitSink) count() error {
	l.n++
	if l.n > l.limit {
		return errTooManySamples{limit: l.limit}
	}
	return nil
}

func (l *limitSink) Append(t int64, v float64) error {
	if err := l.count(); err != nil {
		return err
	}
	return l.seriesSink.Append(t, v)
}

func (l *limitSink) Series(rs *readSeries, samples []prompb.Sample) error {
	if l.n += int64(len(samples)); l.n > l.limit {
		return errTooManySamples{limit: l.limit}
	}
	return l.seriesSink.Series(rs, samples)
}

func (l *limitSink) AppendHistogram(t int64, h *prompb.Histogram) error {
	if err := l.count(); err != nil {
		return err
	}
	return l.seriesSink.AppendHistogram(t, h)
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

func (c *chunkedSink) Series(rs *readSeries, samples []prompb.Sample) error {
	if err := c.StartSeries(rs); err != nil {
		return err
	}
	for _, s := range samples {
		if err := c.cw.Append(s.Timestamp, s.Value); err != nil {
			return err
		}
	}
	return c.EndSeries()
}

// samplesSink collects one query's series for a SAMPLES response.
type samplesSink struct {
	series []*prompb.TimeSeries
}

func (s *samplesSink) StartSeries(rs *readSeries) error {
	s.series = append(s.series, &prompb.TimeSeries{Labels: rs.labels})
	return nil
}

func (s *samplesSink) Series(rs *readSeries, samples []prompb.Sample) error {
	if len(samples) > 0 {
		s.series = append(s.series, &prompb.TimeSeries{Labels: rs.labels, Samples: samples})
	}
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
