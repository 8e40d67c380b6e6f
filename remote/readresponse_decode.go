package remote

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/prompb"
)

// decodeSamplesResponse decodes a prompb.ReadResponse of SAMPLES, as the
// generated code reads it, into the float series of each result. It walks
// raw twice: the first walk counts the results, series, labels and
// samples, so that the second fills slices allocated once instead of
// growing one per series; label strings are copied, so raw may be reused
// after. Exemplars and native histograms are skipped: it serves callers
// that read float samples only.
func decodeSamplesResponse(raw []byte) ([][]FloatSeries, error) {
	var c responseCounts
	if err := walkResponse(raw, &c, nil); err != nil {
		return nil, err
	}
	f := &responseFill{
		results: make([][]FloatSeries, 0, c.results),
		series:  make([]FloatSeries, 0, c.series),
		labels:  make([]prompb.Label, 0, c.labels),
		samples: make([]FloatSample, 0, c.samples),
		text:    make([]byte, 0, c.text),
	}
	if err := walkResponse(raw, nil, f); err != nil {
		return nil, err
	}
	return f.results, nil
}

// responseCounts is what the first walk counts.
type responseCounts struct {
	results, series, labels, samples, text int
}

// responseFill holds the slices the second walk fills. Each series'
// Labels and Samples, each result's series, are windows of them.
type responseFill struct {
	results [][]FloatSeries
	series  []FloatSeries
	labels  []prompb.Label
	samples []FloatSample
	// text holds the label names and values; the strings alias it, and
	// it is never appended to past its capacity.
	text []byte
}

// walkResponse walks a ReadResponse, counting into c on the first walk and
// filling f on the second.
func walkResponse(b []byte, c *responseCounts, f *responseFill) error {
	return eachMessage(b, "ReadResponse", "ReadResponse.results", func(msg []byte) error {
		if c != nil {
			c.results++
		} else {
			f.results = append(f.results, nil)
		}
		return walkQueryResult(msg, c, f)
	})
}

// eachMessage calls each with every field 1 of the message b, which
// ReadResponse and QueryResult repeat (results, timeseries).
func eachMessage(b []byte, name, field string, each func(msg []byte) error) error {
	return walkFieldsOf(b, name, func(num int32, wt int, b []byte) (int, error) {
		if num != 1 {
			return -1, nil
		}
		msg, n, err := message(b, wt, field)
		if err != nil {
			return 0, err
		}
		return n, each(msg)
	})
}

func walkQueryResult(b []byte, c *responseCounts, f *responseFill) error {
	start := len(f.seriesOrNil())
	err := eachMessage(b, "QueryResult", "QueryResult.timeseries", func(msg []byte) error {
		if c != nil {
			c.series++
		} else {
			f.series = append(f.series, FloatSeries{})
		}
		return walkTimeSeries(msg, c, f)
	})
	if err != nil || f == nil {
		return err
	}
	f.results[len(f.results)-1] = f.series[start:len(f.series):len(f.series)]
	return nil
}

func (f *responseFill) seriesOrNil() []FloatSeries {
	if f == nil {
		return nil
	}
	return f.series
}

// walkTimeSeries walks a TimeSeries in a loop of its own rather than with
// walkFieldsOf: its samples are most of any answer. The first walk only
// counts them; the second decodes them.
func walkTimeSeries(b []byte, c *responseCounts, f *responseFill) error {
	var labelStart, sampleStart int
	if f != nil {
		labelStart, sampleStart = len(f.labels), len(f.samples)
	}
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return fmt.Errorf("TimeSeries: %w", err)
		}
		i += n
		switch num, wt := fieldNum(key), int(key&7); num {
		case 1, 2:
			msg, n, err := message(b[i:], wt, "TimeSeries.labels or samples")
			if err != nil {
				return fmt.Errorf("TimeSeries: %w", err)
			}
			i += n
			switch {
			case num == 1:
				err = walkLabel(msg, c, f)
			case c != nil:
				c.samples++
			default:
				var smp FloatSample
				smp, err = decodeSample(msg)
				f.samples = append(f.samples, smp)
			}
			if err != nil {
				return fmt.Errorf("TimeSeries: %w", err)
			}
		default:
			n, err := skipUnknown(b[i:], key)
			if err != nil {
				return fmt.Errorf("TimeSeries: %w", err)
			}
			i += n
		}
	}
	if f != nil {
		ts := &f.series[len(f.series)-1]
		ts.Labels = f.labels[labelStart:len(f.labels):len(f.labels)]
		ts.Samples = f.samples[sampleStart:len(f.samples):len(f.samples)]
	}
	return nil
}

func walkLabel(b []byte, c *responseCounts, f *responseFill) error {
	var l prompb.Label
	err := walkFieldsOf(b, "Label", func(num int32, wt int, b []byte) (int, error) {
		if num != 1 && num != 2 {
			return -1, nil
		}
		v, n, err := message(b, wt, "Label.name or value")
		if err != nil {
			return 0, err
		}
		if c != nil {
			c.text += len(v)
			return n, nil
		}
		start := len(f.text)
		f.text = append(f.text, v...)
		s := aliasString(f.text[start:])
		if num == 1 {
			l.Name = s
		} else {
			l.Value = s
		}
		return n, nil
	})
	if c != nil {
		c.labels++
	} else if err == nil {
		f.labels = append(f.labels, l)
	}
	return err
}

// decodeSample decodes a Sample, in one step for the layout every encoder
// writes (value, then timestamp), else as the write path does.
func decodeSample(b []byte) (FloatSample, error) {
	if len(b) >= 10 && b[0] == 1<<3|wireFixed64 && b[9] == 2<<3|wireVarint {
		if t, n, err := varint(b[10:]); err == nil && 10+n == len(b) {
			return FloatSample{V: math.Float64frombits(binary.LittleEndian.Uint64(b[1:9])), T: int64(t)}, nil
		}
	}
	v, t, err := decodeSampleV1(b)
	if err != nil {
		return FloatSample{}, fmt.Errorf("Sample: %w", err)
	}
	return FloatSample{T: t, V: v}, nil
}

// walkFieldsOf calls field with the number, wire type and the bytes after
// the key of every field of the message b. field returns the bytes its
// value took, or -1 for a field it does not know, which is skipped.
func walkFieldsOf(b []byte, name string, field func(num int32, wt int, b []byte) (int, error)) error {
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		i += n
		n, err = field(fieldNum(key), int(key&7), b[i:])
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if n < 0 {
			if n, err = skipUnknown(b[i:], key); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		i += n
	}
	return nil
}
