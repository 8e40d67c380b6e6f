package remote

import (
	"fmt"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// AppendHistogram adds a native histogram sample (integer or float) to the
// open series. Timestamps must increase strictly within a series, shared with
// Append: the samples of a series may switch between floats and histograms as
// a Prometheus series can, and the open chunk is cut whenever the kind changes
// (XOR, HISTOGRAM, FLOAT_HISTOGRAM), as Prometheus's
// storage.NewSeriesToChunkEncoder does.
//
// Within a kind, the chunk is also cut at MaxSamplesPerChunk samples and
// whenever Prometheus's histogram chunk appender starts a new chunk itself: on
// a counter reset, or a schema, zero threshold or custom bucket change it
// cannot recode. The appender sets the counter-reset header of the new chunk;
// a chunk cut at MaxSamplesPerChunk is checked against the one before it, as
// the Prometheus head does, so that its header says whether the counter was
// reset in between rather than leaving it unknown. Bucket layouts that only
// add buckets are recoded in place, so a decoded histogram may carry extra
// empty buckets, as it would from Prometheus's own storage.
//
// h is neither modified nor kept. A histogram with an unknown schema or with
// spans that do not match its bucket counts is rejected, because the chunk
// encoding cannot represent it.
func (c *ChunkedWriter) AppendHistogram(t int64, h *prompb.Histogram) error {
	if err := c.checkAppend(t); err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("cannot append nil histogram at %d ms to series %s", t, labelsString(c.labels))
	}
	if err := checkLayout(h); err != nil {
		return fmt.Errorf("cannot append histogram at %d ms to series %s: %w", t, labelsString(c.labels), err)
	}
	enc := chunkenc.EncHistogram
	if h.IsFloatHistogram() {
		enc = chunkenc.EncFloatHistogram
	}

	// prev lets the first sample of a chunk cut for its size be compared
	// with the chunk before it.
	var prev chunkenc.Appender
	if c.samples > 0 && (c.samples == MaxSamplesPerChunk || c.cur.Encoding() != enc) {
		if c.cur.Encoding() == enc {
			prev = c.app
		}
		if err := c.cutChunk(); err != nil {
			return err
		}
	}
	if c.samples == 0 {
		var chk chunkenc.Chunk = chunkenc.NewHistogramChunk()
		if enc == chunkenc.EncFloatHistogram {
			chk = chunkenc.NewFloatHistogramChunk()
		}
		app, err := chk.Appender()
		if err != nil {
			return fmt.Errorf("cannot start %s chunk of series %s: %w", enc, labelsString(c.labels), err)
		}
		c.cur, c.app, c.minT = chk, app, t
	}

	var (
		newChk  chunkenc.Chunk
		recoded bool
		app     chunkenc.Appender
		err     error
	)
	// With appendOnly false the appenders cut or recode instead of failing.
	if enc == chunkenc.EncFloatHistogram {
		newChk, recoded, app, err = c.app.AppendFloatHistogram(prev, 0, t, h.ToFloatHistogram(), false)
	} else {
		newChk, recoded, app, err = c.app.AppendHistogram(prev, 0, t, h.ToIntHistogram(), false)
	}
	if err != nil {
		return fmt.Errorf("cannot append histogram at %d ms to series %s: %w", t, labelsString(c.labels), err)
	}
	switch {
	case newChk == nil:
		c.samples++
	case recoded:
		// The open chunk was rewritten with a wider bucket layout.
		c.cur = newChk
		c.samples++
	default:
		// The appender started a new chunk holding only this sample; the
		// open chunk ends at the previous sample.
		if err := c.cutChunk(); err != nil {
			return err
		}
		c.cur, c.minT, c.samples = newChk, t, 1
	}
	c.app = app
	c.maxT, c.lastT, c.hasSamples = t, t, true
	return nil
}

// checkLayout reports whether h can be encoded and decoded: a valid schema,
// which chunk readers check, and spans describing as many buckets as h holds,
// which the chunk appenders assume without checking.
func checkLayout(h *prompb.Histogram) error {
	if !histogram.IsValidSchema(h.Schema) {
		return fmt.Errorf("schema %d: %w", h.Schema, histogram.ErrHistogramsInvalidSchema)
	}
	pos, neg := len(h.PositiveDeltas), len(h.NegativeDeltas)
	if h.IsFloatHistogram() {
		pos, neg = len(h.PositiveCounts), len(h.NegativeCounts)
	}
	if err := checkSpans("positive", h.PositiveSpans, pos); err != nil {
		return err
	}
	return checkSpans("negative", h.NegativeSpans, neg)
}

func checkSpans(side string, spans []prompb.BucketSpan, buckets int) error {
	n := 0
	for _, s := range spans {
		n += int(s.Length)
	}
	if n != buckets {
		return fmt.Errorf("%s spans cover %d buckets, histogram has %d: %w", side, n, buckets, histogram.ErrHistogramSpansBucketsMismatch)
	}
	return nil
}
