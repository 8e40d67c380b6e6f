package remote

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/prompb"
)

// Field numbers of prometheus.WriteRequest (remote.proto) and
// prometheus.TimeSeries (types.proto) that the walk dispatches on. Those of
// TimeSeries differ from Remote-Write 2.0's.
const (
	// WriteRequest.
	timeseriesFieldV1 = 1 // repeated prometheus.TimeSeries timeseries = 1;
	metadataFieldV1   = 3 // repeated prometheus.MetricMetadata metadata = 3;

	// TimeSeries.
	labelsFieldV1     = 1 // repeated Label labels = 1;
	samplesFieldV1    = 2 // repeated Sample samples = 2;
	exemplarsFieldV1  = 3 // repeated Exemplar exemplars = 3;
	histogramsFieldV1 = 4 // repeated Histogram histograms = 4;
)

// decodeV1 decodes a prometheus.WriteRequest (remote.proto) into p.req.
func (p *pooledRequest) decodeV1(body []byte) error {
	p.startBudget(body, budgetFactorV1)
	unknown, err := p.walkV1(body)
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	if err != nil {
		if hint := misdirected(body, WriteV1); hint != "" {
			return newError(ErrInvalid, "%s", hint)
		}
		return newError(ErrInvalid, "cannot unmarshal %s from %d bytes: %w", ProtoWriteV1, len(body), err)
	}
	if p.seen == 0 && len(p.req.Metadata) == 0 && unknown {
		if hint := misdirected(body, WriteV1); hint != "" {
			return newError(ErrInvalid, "%s", hint)
		}
	}
	return nil
}

// walkV1 fills p.req from the fields of a WriteRequest and reports whether
// it met unknown fields.
func (p *pooledRequest) walkV1(b []byte) (unknown bool, err error) {
	p.series = p.series[:0]
	p.metadata = p.metadata[:0]
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return false, err
		}
		i += n
		switch fieldNum(key) {
		case timeseriesFieldV1:
			msg, n, err := message(b[i:], int(key&7), "timeseries")
			if err != nil {
				return false, err
			}
			if err := p.seriesV1(msg); err != nil {
				return false, fmt.Errorf("timeseries %d: %w", p.seen, err)
			}
			p.seen++
			i += n
		case metadataFieldV1:
			msg, n, err := message(b[i:], int(key&7), "metadata")
			if err != nil {
				return false, err
			}
			md, err := decodeMetadataV1(msg)
			if err != nil {
				return false, fmt.Errorf("metadata %d: %w", len(p.metadata), err)
			}
			if err := p.spend(1, sizeMetadata); err != nil {
				return false, err
			}
			p.metadata = append(p.metadata, md)
			i += n
		default:
			n, err := skipUnknown(b[i:], key)
			if err != nil {
				return false, err
			}
			unknown = true
			i += n
		}
	}
	p.req.series = p.series
	p.req.Metadata = carve(p.metadata, 0)
	return unknown, nil
}

// seriesV1 appends the prometheus.TimeSeries in b to p.series or, with
// p.each set, hands it out (handOut) and gives its memory to the next.
func (p *pooledRequest) seriesV1(b []byte) error {
	labels, samples, exemplars, histograms := len(p.labels), len(p.samples), len(p.exemplars), len(p.histograms)
	exLabels := len(p.exLabels)
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return err
		}
		i += n
		wt := int(key & 7)
		switch fieldNum(key) {
		case labelsFieldV1:
			n, err := p.labelV1(&p.labels, b[i:], wt, len(p.labels)-labels)
			if err != nil {
				return err
			}
			i += n
		case samplesFieldV1:
			msg, n, err := message(b[i:], wt, "samples")
			if err != nil {
				return err
			}
			v, ts, err := decodeSampleV1(msg)
			if err != nil {
				return fmt.Errorf("sample %d: %w", len(p.samples)-samples, err)
			}
			if err := p.spend(1, sizeSample); err != nil {
				return err
			}
			p.samples = append(p.samples, prompb.Sample{Value: v, Timestamp: ts})
			i += n
		case exemplarsFieldV1:
			msg, n, err := message(b[i:], wt, "exemplars")
			if err != nil {
				return err
			}
			if err := p.exemplarV1(msg); err != nil {
				return fmt.Errorf("exemplar %d: %w", len(p.exemplars)-exemplars, err)
			}
			i += n
		case histogramsFieldV1:
			msg, n, err := message(b[i:], wt, "histograms")
			if err != nil {
				return err
			}
			if err := p.spend(1, sizeHistogram); err != nil {
				return err
			}
			// Native histograms are rare enough for the generated code.
			p.histograms = append(p.histograms, prompb.Histogram{})
			if err := p.histograms[len(p.histograms)-1].Unmarshal(msg); err != nil {
				return fmt.Errorf("histogram %d: %w", len(p.histograms)-1-histograms, err)
			}
			i += n
		default:
			n, err := skipUnknown(b[i:], key)
			if err != nil {
				return err
			}
			i += n
		}
	}
	ser, err := p.appendSeries(labels, samples, exemplars, histograms)
	if err != nil || p.each == nil {
		return err
	}
	err = p.handOut(ser)
	// The next series takes the same memory, still in the caches. What
	// points elsewhere is cleared, as release does.
	clear(p.series)
	clear(p.labels[labels:])
	clear(p.exLabels[exLabels:])
	clear(p.exemplars[exemplars:])
	clear(p.histograms[histograms:])
	p.series = p.series[:0]
	p.labels, p.exLabels = p.labels[:labels], p.exLabels[:exLabels]
	p.samples, p.exemplars, p.histograms = p.samples[:samples], p.exemplars[:exemplars], p.histograms[:histograms]
	return err
}

// labelV1 decodes the labels field (wire type wt) at the start of b, the
// series' or exemplar's label number index, appends it to *arena and
// returns the field's length.
func (p *pooledRequest) labelV1(arena *[]prompb.Label, b []byte, wt, index int) (int, error) {
	msg, n, err := message(b, wt, "labels")
	if err != nil {
		return 0, err
	}
	name, value, err := decodeLabel(msg)
	if err != nil {
		return 0, fmt.Errorf("label %d: %w", index, err)
	}
	if err := p.spend(1, sizeLabel); err != nil {
		return 0, err
	}
	// Field by field: a whole prompb.Label built on the stack and copied
	// is read back with wider loads than it was written with, which
	// stalls the processor (a tenth of all decoding, measured).
	*arena = append(*arena, prompb.Label{})
	l := &(*arena)[len(*arena)-1]
	l.Name, l.Value = name, value
	return n, nil
}

// decodeLabel returns the name and value of the prometheus.Label in b.
func decodeLabel(b []byte) (name, value string, err error) {
	// Every sender encodes a label as its name (field 1) then its value
	// (field 2), and nearly every name and value is shorter than 128
	// bytes: one key byte and one length byte each. Anything else takes
	// the general walk below, which gives the same answer for this shape.
	if len(b) >= 4 && b[0] == 0x0a && b[1] < 0x80 {
		if nv := 2 + int(b[1]); nv+2 <= len(b) && b[nv] == 0x12 && b[nv+1] < 0x80 && nv+2+int(b[nv+1]) == len(b) {
			return aliasString(b[2:nv]), aliasString(b[nv+2:]), nil
		}
	}
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return "", "", err
		}
		i += n
		switch fieldNum(key) {
		case 1:
			v, n, err := message(b[i:], int(key&7), "name")
			if err != nil {
				return "", "", err
			}
			name = aliasString(v)
			i += n
		case 2:
			v, n, err := message(b[i:], int(key&7), "value")
			if err != nil {
				return "", "", err
			}
			value = aliasString(v)
			i += n
		default:
			n, err := skipUnknown(b[i:], key)
			if err != nil {
				return "", "", err
			}
			i += n
		}
	}
	return name, value, nil
}

// decodeSampleV1 returns the value and timestamp of the prometheus.Sample
// in b.
func decodeSampleV1(b []byte) (value float64, ts int64, err error) {
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return 0, 0, err
		}
		i += n
		switch fieldNum(key) {
		case 1:
			v, n, err := double(b[i:], int(key&7), "value")
			if err != nil {
				return 0, 0, err
			}
			value = v
			i += n
		case 2:
			v, n, err := scalar(b[i:], int(key&7), "timestamp")
			if err != nil {
				return 0, 0, err
			}
			ts = int64(v)
			i += n
		default:
			n, err := skipUnknown(b[i:], key)
			if err != nil {
				return 0, 0, err
			}
			i += n
		}
	}
	return value, ts, nil
}

// exemplarField decodes a field of an exemplar other than its labels, the
// same in both versions: value (2), timestamp (3), or an unknown one,
// skipped. It returns the length of the field's value.
func exemplarField(b []byte, key uint64, ex *prompb.Exemplar) (int, error) {
	wt := int(key & 7)
	switch fieldNum(key) {
	case 2:
		v, n, err := double(b, wt, "value")
		ex.Value = v
		return n, err
	case 3:
		v, n, err := scalar(b, wt, "timestamp")
		ex.Timestamp = int64(v)
		return n, err
	}
	return skipUnknown(b, key)
}

// exemplarV1 appends the prometheus.Exemplar in b to p.exemplars.
func (p *pooledRequest) exemplarV1(b []byte) error {
	ex := prompb.Exemplar{}
	labels := len(p.exLabels)
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return err
		}
		i += n
		wt := int(key & 7)
		switch fieldNum(key) {
		case 1:
			n, err := p.labelV1(&p.exLabels, b[i:], wt, len(p.exLabels)-labels)
			if err != nil {
				return err
			}
			i += n
		default:
			n, err := exemplarField(b[i:], key, &ex)
			if err != nil {
				return err
			}
			i += n
		}
	}
	if err := p.spend(1, sizeExemplar); err != nil {
		return err
	}
	ex.Labels = carve(p.exLabels, labels)
	p.exemplars = append(p.exemplars, ex)
	return nil
}

func decodeMetadataV1(b []byte) (prompb.MetricMetadata, error) {
	var md prompb.MetricMetadata
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return md, err
		}
		i += n
		wt := int(key & 7)
		switch fieldNum(key) {
		case 1:
			v, n, err := scalar(b[i:], wt, "type")
			if err != nil {
				return md, err
			}
			md.Type = prompb.MetricMetadata_MetricType(int32(v))
			i += n
		case 2:
			v, n, err := message(b[i:], wt, "metric_family_name")
			if err != nil {
				return md, err
			}
			md.MetricFamilyName = aliasString(v)
			i += n
		case 4:
			v, n, err := message(b[i:], wt, "help")
			if err != nil {
				return md, err
			}
			md.Help = aliasString(v)
			i += n
		case 5:
			v, n, err := message(b[i:], wt, "unit")
			if err != nil {
				return md, err
			}
			md.Unit = aliasString(v)
			i += n
		default:
			n, err := skipUnknown(b[i:], key)
			if err != nil {
				return md, err
			}
			i += n
		}
	}
	return md, nil
}
