package promapi

import (
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// The answers are written by hand, in the format of Prometheus's
// web/api/v1 (json_codec.go and util/jsonutil), byte for byte where
// Prometheus's own encoder decides it:
//
//	{"status":"success","data":{"resultType":"vector","result":[
//	  {"metric":{"__name__":"up","job":"a"},"value":[1435781451.781,"1"]},
//	  {"metric":{...},"histogram":[1435781451.781,{"count":"3","sum":"4.5","buckets":[[0,"-1","1","3"]]}]}
//	]},"warnings":["..."],"infos":["..."]}
//
//	{"status":"error","errorType":"bad_data","error":"..."}
//
// A matrix's series hold "values" and "histograms" arrays of such points;
// a scalar or a string is one point, [1435781451.781,"1"].

// flushBytes is how much of an answer is encoded before it is written:
// a large matrix is never held twice, as values and as JSON.
const flushBytes = 64 << 10

// writeSuccess writes the answer of a query whose result is v, with the
// warnings and infos of its annotations, flushBytes at a time.
func writeSuccess(w io.Writer, v parser.Value, warnings, infos []string) error {
	b := make([]byte, 0, 2*flushBytes)
	var err error
	// flush writes b once it holds flushBytes; after an error it
	// writes nothing more.
	flush := func(force bool) {
		if err == nil && (force || len(b) >= flushBytes) {
			_, err = w.Write(b)
			b = b[:0]
		}
	}
	b = append(b, `{"status":"success","data":{"resultType":`...)
	b = appendString(b, string(v.Type()))
	b = append(b, `,"result":`...)
	switch v := v.(type) {
	case promql.Matrix:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendSeries(b, s)
			flush(false)
		}
		b = append(b, ']')
	case promql.Vector:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendSample(b, s)
			flush(false)
		}
		b = append(b, ']')
	case promql.Scalar:
		// Prometheus encodes scalars and strings with encoding/json: the
		// timestamp as a float, a scalar's value in plain notation.
		b = append(b, '[')
		b = appendJSONFloat(b, float64(v.T)/1000)
		b = append(b, ',', '"')
		b = strconv.AppendFloat(b, v.V, 'f', -1, 64)
		b = append(b, '"', ']')
	case promql.String:
		b = append(b, '[')
		b = appendJSONFloat(b, float64(v.T)/1000)
		b = append(b, ',')
		b = appendString(b, v.V)
		b = append(b, ']')
	default:
		b = append(b, "null"...)
	}
	b = append(b, '}')
	b = appendStrings(b, "warnings", warnings)
	b = appendStrings(b, "infos", infos)
	b = append(b, '}')
	flush(true)
	return err
}

// appendError appends an error answer.
func appendError(b []byte, e *apiError) []byte {
	b = append(b, `{"status":"error","errorType":`...)
	b = appendString(b, string(e.typ))
	b = append(b, `,"error":`...)
	b = appendString(b, e.err.Error())
	return append(b, '}')
}

// appendStrings appends ,"key":[...], unless ss is empty.
func appendStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendSeries appends one series of a matrix: its labels, then its float
// points and its histogram points, each array only when it has any.
func appendSeries(b []byte, s promql.Series) []byte {
	b = append(b, `{"metric":`...)
	b = appendLabels(b, s.Metric)
	if len(s.Floats) > 0 {
		b = append(b, `,"values":[`...)
		for i, p := range s.Floats {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = appendTimestamp(b, p.T)
			b = append(b, ',')
			b = appendFloat(b, p.F)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	if len(s.Histograms) > 0 {
		b = append(b, `,"histograms":[`...)
		for i, p := range s.Histograms {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = appendTimestamp(b, p.T)
			b = append(b, ',')
			b = appendHistogram(b, p.H)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendSample appends one sample of a vector: "value" for a float,
// "histogram" for a native histogram.
func appendSample(b []byte, s promql.Sample) []byte {
	b = append(b, `{"metric":`...)
	b = appendLabels(b, s.Metric)
	if s.H == nil {
		b = append(b, `,"value":[`...)
	} else {
		b = append(b, `,"histogram":[`...)
	}
	b = appendTimestamp(b, s.T)
	b = append(b, ',')
	if s.H == nil {
		b = appendFloat(b, s.F)
	} else {
		b = appendHistogram(b, s.H)
	}
	return append(b, ']', '}')
}

// appendLabels appends labels as an object, in their order.
func appendLabels(b []byte, lbls labels.Labels) []byte {
	b = append(b, '{')
	first := true
	lbls.Range(func(l labels.Label) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, l.Name)
		b = append(b, ':')
		b = appendString(b, l.Value)
	})
	return append(b, '}')
}

// appendHistogram appends a native histogram: count and sum, and the
// buckets that are not empty as [boundaries, lower, upper, count], where
// boundaries is 0 for (lower, upper], 1 for [lower, upper), 2 for
// (lower, upper) and 3 for [lower, upper].
func appendHistogram(b []byte, h *histogram.FloatHistogram) []byte {
	b = append(b, `{"count":`...)
	b = appendFloat(b, h.Count)
	b = append(b, `,"sum":`...)
	b = appendFloat(b, h.Sum)
	found := false
	for it := h.AllBucketIterator(); it.Next(); {
		bucket := it.At()
		if bucket.Count == 0 {
			continue
		}
		if found {
			b = append(b, ',')
		} else {
			b = append(b, `,"buckets":[`...)
			found = true
		}
		boundaries := 2
		switch {
		case bucket.LowerInclusive && bucket.UpperInclusive:
			boundaries = 3
		case bucket.LowerInclusive:
			boundaries = 1
		case bucket.UpperInclusive:
			boundaries = 0
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(boundaries), 10)
		b = append(b, ',')
		b = appendFloat(b, bucket.Lower)
		b = append(b, ',')
		b = appendFloat(b, bucket.Upper)
		b = append(b, ',')
		b = appendFloat(b, bucket.Count)
		b = append(b, ']')
	}
	if found {
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendTimestamp appends a millisecond timestamp as seconds, with the
// milliseconds written only when there are any: 1435781451.781,
// 1435781451.1 as 1435781451.100, 1435781451000 as 1435781451.
func appendTimestamp(b []byte, t int64) []byte {
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, t/1000, 10)
	if ms := t % 1000; ms != 0 {
		b = append(b, '.')
		if ms < 100 {
			b = append(b, '0')
		}
		if ms < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, ms, 10)
	}
	return b
}

// appendFloat appends a sample value as a quoted string: NaN, +Inf and
// -Inf as such, exponents only for the very small and very large.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = append(b, '"')
	b = strconv.AppendFloat(b, f, format, -1, 64)
	return append(b, '"')
}

// appendJSONFloat appends a finite float as a JSON number, as
// encoding/json writes it.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 is written 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML's <, > and & included, as Prometheus's encoder does):
// invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendArray appends xs as a JSON array, [] when empty, each element as
// appendOne writes it.
func appendArray[T any](b []byte, xs []T, appendOne func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOne(b, x)
	}
	return append(b, ']')
}

// appendMetadata appends the answer of /api/v1/metadata: an object of
// families in the order of names, each an array of its metadata in
// Prometheus's field order:
//
//	{"up":[{"type":"gauge","unit":"","help":"..."}]}
func appendMetadata(b []byte, names []string, families map[string][]metadata.Metadata) []byte {
	b = append(b, '{')
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		b = appendArray(b, families[name], appendOneMetadata)
	}
	return append(b, '}')
}

// appendOneMetadata appends one metadata object, in Prometheus's field
// order.
func appendOneMetadata(b []byte, m metadata.Metadata) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, string(m.Type))
	b = append(b, `,"unit":`...)
	b = appendString(b, m.Unit)
	b = append(b, `,"help":`...)
	b = appendString(b, m.Help)
	return append(b, '}')
}

// appendExemplars appends the answer of /api/v1/query_exemplars, [] when
// empty:
//
//	[{"seriesLabels":{...},"exemplars":[{"labels":{...},"value":"1.5","timestamp":1700000000.123}]}]
func appendExemplars(b []byte, results []exemplar.QueryResult) []byte {
	return appendArray(b, results, func(b []byte, r exemplar.QueryResult) []byte {
		b = append(b, `{"seriesLabels":`...)
		b = appendLabels(b, r.SeriesLabels)
		b = append(b, `,"exemplars":`...)
		b = appendArray(b, r.Exemplars, appendExemplar)
		return append(b, '}')
	})
}

// appendExemplar appends one exemplar: its labels, value and timestamp.
func appendExemplar(b []byte, e exemplar.Exemplar) []byte {
	b = append(b, `{"labels":`...)
	b = appendLabels(b, e.Labels)
	b = append(b, `,"value":`...)
	b = appendFloat(b, e.Value)
	b = append(b, `,"timestamp":`...)
	b = appendTimestamp(b, e.Ts)
	return append(b, '}')
}
