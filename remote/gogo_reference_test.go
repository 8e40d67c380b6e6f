package remote

// The decoders below are the generated gogo unmarshallers plus a conversion
// into the view, as promflux decoded remote write before its own walk. They
// are the reference FuzzDecodeWriteDifferential holds the walk to, and
// BenchmarkDecodeWriteGogo measures them. They copy every string and
// allocate per element, so their results need no Release.

import (
	"fmt"

	"github.com/gogo/protobuf/proto"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

func decodeV1Gogo(body []byte) (*WriteRequest, error) {
	var req prompb.WriteRequest
	if err := req.Unmarshal(body); err != nil {
		if hint := misdirected(body, WriteV1); hint != "" {
			return nil, newError(ErrInvalid, "%s", hint)
		}
		return nil, newError(ErrInvalid, "cannot unmarshal %s from %d bytes: %w", ProtoWriteV1, len(body), err)
	}
	if len(req.Timeseries) == 0 && len(req.Metadata) == 0 && len(req.XXX_unrecognized) > 0 {
		if hint := misdirected(body, WriteV1); hint != "" {
			return nil, newError(ErrInvalid, "%s", hint)
		}
	}
	out := &WriteRequest{
		Version:  WriteV1,
		series:   make([]Series, len(req.Timeseries)),
		Metadata: req.Metadata,
	}
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		out.series[i] = Series{
			Labels:     ts.Labels,
			Samples:    ts.Samples,
			Histograms: ts.Histograms,
			Exemplars:  ts.Exemplars,
		}
	}
	return out, nil
}

func decodeV2Gogo(body []byte) (*WriteRequest, error) {
	var req writev2.Request
	if err := req.Unmarshal(body); err != nil {
		if hint := misdirected(body, WriteV2); hint != "" {
			return nil, newError(ErrInvalid, "%s", hint)
		}
		return nil, newError(ErrInvalid, "cannot unmarshal %s from %d bytes: %w", ProtoWriteV2, len(body), err)
	}
	if len(req.Timeseries) == 0 && len(req.Symbols) == 0 && len(req.XXX_unrecognized) > 0 {
		if hint := misdirected(body, WriteV2); hint != "" {
			return nil, newError(ErrInvalid, "%s", hint)
		}
	}
	return convertV2(&req)
}

// convertV2 resolves the symbol references of req into the series view.
func convertV2(req *writev2.Request) (*WriteRequest, error) {
	symbols := req.Symbols
	if len(req.Timeseries) > 0 && (len(symbols) == 0 || symbols[0] != "") {
		// Unset optional refs (help, unit) are 0 and must resolve to "";
		// accepting another symbols[0] would silently attach it to every
		// series without help or unit.
		return nil, newError(ErrInvalid, "symbols table of %d entries must start with the empty string", len(symbols))
	}

	// One backing array each for labels and samples instead of one per series.
	var nLabels, nSamples int
	for i := range req.Timeseries {
		nLabels += len(req.Timeseries[i].LabelsRefs) / 2
		nSamples += len(req.Timeseries[i].Samples)
	}
	labels := make([]prompb.Label, 0, nLabels)
	samples := make([]prompb.Sample, 0, nSamples)

	out := &WriteRequest{Version: WriteV2, series: make([]Series, len(req.Timeseries))}
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		s := &out.series[i]

		start := len(labels)
		var err error
		if labels, err = appendLabels(labels, ts.LabelsRefs, symbols); err != nil {
			return nil, newError(ErrInvalid, "series %d: %w", i, err)
		}
		// The full slice expression keeps appends by later code from
		// overwriting the next series' labels.
		s.Labels = labels[start:len(labels):len(labels)]

		if len(ts.Samples) > 0 {
			start = len(samples)
			for _, smp := range ts.Samples {
				samples = append(samples, prompb.Sample{Value: smp.Value, Timestamp: smp.Timestamp})
				if s.CreatedTimestamp == 0 {
					s.CreatedTimestamp = smp.StartTimestamp
				}
			}
			s.Samples = samples[start:len(samples):len(samples)]
		}

		if len(ts.Histograms) > 0 {
			s.Histograms = make([]prompb.Histogram, len(ts.Histograms))
			for j := range ts.Histograms {
				s.Histograms[j] = convertHistogram(&ts.Histograms[j])
				if s.CreatedTimestamp == 0 {
					s.CreatedTimestamp = ts.Histograms[j].StartTimestamp
				}
			}
		}

		if len(ts.Exemplars) > 0 {
			s.Exemplars = make([]prompb.Exemplar, len(ts.Exemplars))
			for j, ex := range ts.Exemplars {
				exLabels, err := appendLabels(nil, ex.LabelsRefs, symbols)
				if err != nil {
					return nil, newError(ErrInvalid, "series %d: exemplar %d: %w", i, j, err)
				}
				s.Exemplars[j] = prompb.Exemplar{Labels: exLabels, Value: ex.Value, Timestamp: ex.Timestamp}
			}
		}

		if s.Metadata, err = convertMetadata(ts.Metadata, symbols); err != nil {
			return nil, newError(ErrInvalid, "series %d: %w", i, err)
		}

		if ct, ok := legacyCreatedTimestamp(ts.XXX_unrecognized); ok {
			s.CreatedTimestamp = ct
		}
	}
	return out, nil
}

// appendLabels resolves name/value reference pairs against symbols.
func appendLabels(dst []prompb.Label, refs []uint32, symbols []string) ([]prompb.Label, error) {
	if len(refs)%2 != 0 {
		return dst, fmt.Errorf("odd number of label refs (%d): refs must come in name/value pairs", len(refs))
	}
	for k := 0; k < len(refs); k += 2 {
		name, value := refs[k], refs[k+1]
		if int64(name) >= int64(len(symbols)) {
			return dst, fmt.Errorf("label ref %d out of range (%d symbols)", name, len(symbols))
		}
		if int64(value) >= int64(len(symbols)) {
			return dst, fmt.Errorf("label ref %d out of range (%d symbols)", value, len(symbols))
		}
		dst = append(dst, prompb.Label{Name: symbols[name], Value: symbols[value]})
	}
	return dst, nil
}

func convertMetadata(md writev2.Metadata, symbols []string) (prompb.MetricMetadata, error) {
	if int64(md.HelpRef) >= int64(len(symbols)) {
		return prompb.MetricMetadata{}, fmt.Errorf("metadata help ref %d out of range (%d symbols)", md.HelpRef, len(symbols))
	}
	if int64(md.UnitRef) >= int64(len(symbols)) {
		return prompb.MetricMetadata{}, fmt.Errorf("metadata unit ref %d out of range (%d symbols)", md.UnitRef, len(symbols))
	}
	return prompb.MetricMetadata{
		// Both enums number the metric types identically, from UNKNOWN /
		// UNSPECIFIED = 0 to STATESET = 7.
		Type: prompb.MetricMetadata_MetricType(md.Type),
		Help: symbols[md.HelpRef],
		Unit: symbols[md.UnitRef],
	}, nil
}

// legacyCreatedTimestamp finds the pre-start_timestamp created_timestamp
// field among the unknown fields of a TimeSeries. The generated unmarshaller
// has already checked that unknown holds well-formed fields.
func legacyCreatedTimestamp(unknown []byte) (int64, bool) {
	for len(unknown) > 0 {
		key, n := proto.DecodeVarint(unknown)
		if n == 0 {
			return 0, false
		}
		unknown = unknown[n:]
		var skip int
		switch key & 7 {
		case proto.WireVarint:
			v, n := proto.DecodeVarint(unknown)
			if n == 0 {
				return 0, false
			}
			if key>>3 == legacyCreatedTimestampField {
				return int64(v), true
			}
			skip = n
		case proto.WireFixed64:
			skip = 8
		case proto.WireBytes:
			l, n := proto.DecodeVarint(unknown)
			if n == 0 || l > uint64(len(unknown)-n) {
				return 0, false
			}
			skip = n + int(l)
		case proto.WireFixed32:
			skip = 4
		default:
			return 0, false
		}
		if skip > len(unknown) {
			return 0, false
		}
		unknown = unknown[skip:]
	}
	return 0, false
}
