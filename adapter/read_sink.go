package adapter

import (
	"github.com/prometheus/prometheus/model/labels"
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
}

// limitSink passes samples on until read.max_samples of them, then fails
// with tooManySamplesError.
type limitSink struct {
	seriesSink
	limit, n int64
}

func (l *limitSink) count() error {
	l.n++
	if l.n > l.limit {
		return tooManySamplesError{limit: l.limit}
	}
	return nil
}

func (l *limitSink) Append(t int64, v float64) error {
	if err := l.count(); err != nil {
		return err
	}
	return l.seriesSink.Append(t, v)
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

func (c *chunkedSink) StartSeries(rs *readSeries) error {
	// A new slice: the writer keeps it while the series is open.
	return c.cw.StartSeries(c.index, promLabels(nil, rs.labels))
}
func (c *chunkedSink) Append(t int64, v float64) error { return c.cw.Append(t, v) }
func (c *chunkedSink) EndSeries() error                { return c.cw.EndSeries() }
func (c *chunkedSink) AppendHistogram(t int64, h *prompb.Histogram) error {
	return c.cw.AppendHistogram(t, h)
}

// samplesSink encodes one query's series into a SAMPLES response.
type samplesSink struct {
	w *remote.SamplesWriter
	// labels is reused: the writer encodes a series' labels at once.
	labels []prompb.Label
}

func (s *samplesSink) StartSeries(rs *readSeries) error {
	s.labels = promLabels(s.labels[:0], rs.labels)
	s.w.StartSeries(s.labels)
	return nil
}
func (s *samplesSink) Append(t int64, v float64) error { s.w.Append(t, v); return nil }
func (s *samplesSink) EndSeries() error                { s.w.EndSeries(); return nil }
func (s *samplesSink) AppendHistogram(t int64, h *prompb.Histogram) error {
	return s.w.AppendHistogram(t, h)
}

// promLabels appends lbls to dst as the labels of a response. The plan of
// a read holds them as labels.Labels, a string each, where a
// []prompb.Label costs 64 bytes a label before its strings.
func promLabels(dst []prompb.Label, lbls labels.Labels) []prompb.Label {
	lbls.Range(func(l labels.Label) { dst = append(dst, prompb.Label{Name: l.Name, Value: l.Value}) })
	return dst
}
