package remote

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// Field numbers of io.prometheus.write.v2 (types.proto) that the walk
// dispatches on.
const (
	// Request.
	symbolsFieldV2    = 4 // repeated string symbols = 4;
	timeseriesFieldV2 = 5 // repeated TimeSeries timeseries = 5;

	// TimeSeries.
	labelsRefsFieldV2 = 1 // repeated uint32 labels_refs = 1;
	samplesFieldV2    = 2 // repeated Sample samples = 2;
	histogramsFieldV2 = 3 // repeated Histogram histograms = 3;
	exemplarsFieldV2  = 4 // repeated Exemplar exemplars = 4;
	metadataFieldV2   = 5 // Metadata metadata = 5;
	// legacyCreatedTimestampField is the TimeSeries field number earlier
	// Remote-Write 2.0 senders used for a per-series created_timestamp,
	// before the specification moved it into every sample as
	// start_timestamp. The current schema reserves the number, so the value
	// arrives among unknown fields.
	legacyCreatedTimestampField = 6
)

// decodeV2 decodes an io.prometheus.write.v2.Request into p.req.
//
// It walks the top level twice: first for the symbols table, which senders
// put before the series but the format lets come anywhere, then for the
// series, resolving their references as it goes. Failures rank as with the
// generated code, which unmarshals everything before resolving anything: an
// encoding error anywhere, then a bad symbols table, then the first
// unresolvable reference.
func (p *pooledRequest) decodeV2(body []byte) error {
	p.startBudget(body, budgetFactorV2)
	nSeries, unknown, err := p.symbolsV2(body)
	var refErr error
	if err == nil {
		refErr, err = p.walkV2(body)
	}
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	if err != nil {
		if hint := misdirected(body, WriteV2); hint != "" {
			return newError(ErrInvalid, "%s", hint)
		}
		return newError(ErrInvalid, "cannot unmarshal %s from %d bytes: %w", ProtoWriteV2, len(body), err)
	}
	if nSeries > 0 && (len(p.symbols) == 0 || p.symbols[0] != "") {
		// Unset optional refs (help, unit) are 0 and must resolve to "";
		// accepting another symbols[0] would silently attach it to every
		// series without help or unit.
		return newError(ErrInvalid, "symbols table of %d entries must start with the empty string", len(p.symbols))
	}
	if refErr != nil {
		return refErr
	}
	if nSeries == 0 && len(p.symbols) == 0 && unknown {
		if hint := misdirected(body, WriteV2); hint != "" {
			return newError(ErrInvalid, "%s", hint)
		}
	}
	return nil
}

// symbolsV2 checks the top-level fields of a Request, collects the symbols
// table into p.symbols, counts the series and reports whether it met unknown
// fields.
func (p *pooledRequest) symbolsV2(b []byte) (nSeries int, unknown bool, err error) {
	p.symbols = p.symbols[:0]
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return 0, false, err
		}
		i += n
		switch fieldNum(key) {
		case symbolsFieldV2:
			v, n, err := message(b[i:], int(key&7), "symbols")
			if err != nil {
				return 0, false, err
			}
			if err := p.spend(1, sizeSymbol); err != nil {
				return 0, false, err
			}
			p.symbols = append(p.symbols, aliasString(v))
			i += n
		case timeseriesFieldV2:
			_, n, err := message(b[i:], int(key&7), "timeseries")
			if err != nil {
				return 0, false, err
			}
			nSeries++
			i += n
		default:
			n, err := skipUnknown(b[i:], key)
			if err != nil {
				return 0, false, err
			}
			unknown = true
			i += n
		}
	}
	return nSeries, unknown, nil
}

// walkV2 decodes the series of a Request whose top level symbolsV2 checked.
// It returns the first reference error apart from encoding errors, as it
// keeps looking for the latter.
func (p *pooledRequest) walkV2(b []byte) (refErr, err error) {
	p.series = p.series[:0]
	for i, series := 0, 0; i < len(b); {
		// symbolsV2 checked the top level: these cannot fail, unless the
		// two walks ever disagree.
		key, n, err := tag(b[i:])
		if err != nil {
			return nil, err
		}
		i += n
		if fieldNum(key) != timeseriesFieldV2 {
			n, err := skipUnknown(b[i:], key)
			if err != nil {
				return nil, err
			}
			i += n
			continue
		}
		msg, n, err := message(b[i:], int(key&7), "timeseries")
		if err != nil {
			return nil, err
		}
		if err := p.seriesV2(msg); err != nil {
			var re *refError
			if !errors.As(err, &re) {
				return nil, fmt.Errorf("timeseries %d: %w", series, err)
			}
			if refErr == nil {
				refErr = newError(ErrInvalid, "series %d: %w", series, re.err)
			}
		}
		series++
		i += n
	}
	p.req.series = p.series
	return refErr, nil
}

// createdTimestamp tracks the candidates for Series.CreatedTimestamp in
// the order of precedence of the view: a legacy per-series field beats the
// first non-zero start timestamp of the samples, which beats that of the
// histograms.
type createdTimestamp struct {
	sample, histogram int64
	legacy            int64
	legacyFound       bool
	// legacyDone ends the search at the first legacy field, or at an
	// unknown group: promflux has always looked for the legacy field only
	// before the first group, and keeps answering the same.
	legacyDone bool
}

func (c *createdTimestamp) value() int64 {
	switch {
	case c.legacyFound:
		return c.legacy
	case c.sample != 0:
		return c.sample
	default:
		return c.histogram
	}
}

// refError is a symbol reference that cannot be resolved, as opposed to a
// malformed encoding: it is reported without the "cannot unmarshal" framing
// and without looking for a misdirected message.
type refError struct{ err error }

func (e *refError) Error() string { return e.err.Error() }

// seriesV2 appends the io.prometheus.write.v2.TimeSeries in b to p.series.
// Encoding errors come first; reference errors (*refError) after the whole
// series decoded, in the order the view is built: labels, exemplars,
// metadata.
func (p *pooledRequest) seriesV2(b []byte) error {
	s := seriesStateV2{samples: len(p.samples), exemplars: len(p.exemplars), histograms: len(p.histograms)}
	p.refs = p.refs[:0]
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return err
		}
		i += n
		wt := int(key & 7)
		switch fieldNum(key) {
		case labelsRefsFieldV2:
			n, err = p.labelsRefsV2(b[i:], wt)
		case samplesFieldV2:
			n, err = p.samplesV2(b[i:], wt, &s)
		case histogramsFieldV2:
			n, err = p.histogramsV2(b[i:], wt, &s)
		case exemplarsFieldV2:
			n, err = p.exemplarsV2(b[i:], wt, &s)
		case metadataFieldV2:
			n, err = metadataV2(b[i:], wt, &s.md)
		default:
			n, err = s.unknownV2(b[i:], key)
		}
		if err != nil {
			return err
		}
		i += n
	}
	return p.endSeriesV2(&s)
}

// seriesStateV2 is what decoding a TimeSeries gathers besides p's arenas.
type seriesStateV2 struct {
	// The lengths of p's arenas when the series began.
	samples, exemplars, histograms int
	md                             writev2.Metadata
	ct                             createdTimestamp
	// exErr is the first reference error of the series' exemplars.
	exErr error
}

// labelsRefsV2 decodes TimeSeries field
//
//	repeated uint32 labels_refs = 1;
//
// at the start of b, of wire type wt, into p.refs, and returns its length.
func (p *pooledRequest) labelsRefsV2(b []byte, wt int) (n int, err error) {
	p.refs, n, err = appendRefs(p.refs, b, wt, "labels_refs")
	return n, err
}

// samplesV2 decodes one element of TimeSeries field
//
//	repeated Sample samples = 2 [(gogoproto.nullable) = false];
//
// at the start of b, of wire type wt, appends it to p.samples and returns its
// length.
func (p *pooledRequest) samplesV2(b []byte, wt int, s *seriesStateV2) (int, error) {
	msg, n, err := message(b, wt, "samples")
	if err != nil {
		return 0, err
	}
	v, ts, st, err := decodeSampleV2(msg)
	if err != nil {
		return 0, fmt.Errorf("sample %d: %w", len(p.samples)-s.samples, err)
	}
	if err := p.spend(1, sizeSample); err != nil {
		return 0, err
	}
	p.samples = append(p.samples, prompb.Sample{Value: v, Timestamp: ts})
	if s.ct.sample == 0 {
		s.ct.sample = st
	}
	return n, nil
}

// histogramsV2 decodes one element of TimeSeries field
//
//	repeated Histogram histograms = 3 [(gogoproto.nullable) = false];
//
// at the start of b, of wire type wt, appends it to p.histograms and returns
// its length.
func (p *pooledRequest) histogramsV2(b []byte, wt int, s *seriesStateV2) (int, error) {
	msg, n, err := message(b, wt, "histograms")
	if err != nil {
		return 0, err
	}
	// Native histograms are rare enough for the generated code.
	var h writev2.Histogram
	if err := h.Unmarshal(msg); err != nil {
		return 0, fmt.Errorf("histogram %d: %w", len(p.histograms)-s.histograms, err)
	}
	if err := p.spend(1, sizeHistogram); err != nil {
		return 0, err
	}
	p.histograms = append(p.histograms, convertHistogram(&h))
	if s.ct.histogram == 0 {
		s.ct.histogram = h.StartTimestamp
	}
	return n, nil
}

// exemplarsV2 decodes one element of TimeSeries field
//
//	repeated Exemplar exemplars = 4 [(gogoproto.nullable) = false];
//
// at the start of b, of wire type wt, appends it to p.exemplars and returns
// its length. The first reference error is kept in s.exErr, for after the
// series' encoding errors.
func (p *pooledRequest) exemplarsV2(b []byte, wt int, s *seriesStateV2) (int, error) {
	msg, n, err := message(b, wt, "exemplars")
	if err != nil {
		return 0, err
	}
	j := len(p.exemplars) - s.exemplars
	if err := p.exemplarV2(msg); err != nil {
		var re *refError
		if !errors.As(err, &re) {
			return 0, fmt.Errorf("exemplar %d: %w", j, err)
		}
		if s.exErr == nil {
			s.exErr = &refError{fmt.Errorf("exemplar %d: %w", j, re.err)}
		}
	}
	return n, nil
}

// metadataV2 decodes TimeSeries field
//
//	Metadata metadata = 5 [(gogoproto.nullable) = false];
//
// at the start of b, of wire type wt, into md and returns its length. A
// singular message field sent twice merges into the first, as protobuf
// specifies.
func metadataV2(b []byte, wt int, md *writev2.Metadata) (int, error) {
	msg, n, err := message(b, wt, "metadata")
	if err != nil {
		return 0, err
	}
	if err := decodeMetadataV2(msg, md); err != nil {
		return 0, fmt.Errorf("metadata: %w", err)
	}
	return n, nil
}

// unknownV2 decodes the TimeSeries field of key at the start of b that the
// current schema does not know: the legacy
//
//	int64 created_timestamp = 6;
//
// now reserved, into s.ct, or any other, skipped. It returns the field's
// length.
func (s *seriesStateV2) unknownV2(b []byte, key uint64) (int, error) {
	wt := int(key & 7)
	if !s.ct.legacyDone && wt == wireVarint && key>>3 == legacyCreatedTimestampField {
		v, n, err := varint(b)
		if err != nil {
			return 0, fmt.Errorf("created_timestamp: %w", err)
		}
		s.ct.legacy, s.ct.legacyFound, s.ct.legacyDone = int64(v), true, true
		return n, nil
	}
	if wt == wireStartGroup {
		s.ct.legacyDone = true
	}
	return skipUnknown(b, key)
}

// endSeriesV2 resolves the references of the series seriesV2 decoded and
// appends it to p.series.
func (p *pooledRequest) endSeriesV2(s *seriesStateV2) error {
	if err := p.spend(len(p.refs)/2, sizeLabel); err != nil {
		return err
	}
	labels := len(p.labels)
	var err error
	if p.labels, err = resolveLabels(p.labels, p.refs, p.symbols); err != nil {
		return &refError{err}
	}
	if s.exErr != nil {
		return s.exErr
	}
	if err := checkMetadataRefs(&s.md, len(p.symbols)); err != nil {
		return &refError{err}
	}
	series, err := p.appendSeries(labels, s.samples, s.exemplars, s.histograms)
	if err != nil {
		return err
	}
	// Both enums number the metric types identically, from UNKNOWN /
	// UNSPECIFIED = 0 to STATESET = 7.
	series.Metadata.Type = prompb.MetricMetadata_MetricType(s.md.Type)
	series.Metadata.Help = p.symbols[s.md.HelpRef]
	series.Metadata.Unit = p.symbols[s.md.UnitRef]
	series.CreatedTimestamp = s.ct.value()
	return nil
}

// decodeSampleV2 returns the value, timestamp and start timestamp of the
// sample in b.
func decodeSampleV2(b []byte) (value float64, ts, st int64, err error) {
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return 0, 0, 0, err
		}
		i += n
		wt := int(key & 7)
		switch fieldNum(key) {
		case 1:
			v, n, err := double(b[i:], wt, "value")
			if err != nil {
				return 0, 0, 0, err
			}
			value = v
			i += n
		case 2:
			v, n, err := scalar(b[i:], wt, "timestamp")
			if err != nil {
				return 0, 0, 0, err
			}
			ts = int64(v)
			i += n
		case 3:
			v, n, err := scalar(b[i:], wt, "start_timestamp")
			if err != nil {
				return 0, 0, 0, err
			}
			st = int64(v)
			i += n
		default:
			n, err := skipUnknown(b[i:], key)
			if err != nil {
				return 0, 0, 0, err
			}
			i += n
		}
	}
	return value, ts, st, nil
}

// exemplarV2 appends the exemplar in b to p.exemplars. A reference error
// (*refError) comes after the exemplar was appended, so that decoding the
// series can go on to find encoding errors first.
func (p *pooledRequest) exemplarV2(b []byte) error {
	ex := prompb.Exemplar{}
	p.exRefs = p.exRefs[:0]
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return err
		}
		i += n
		wt := int(key & 7)
		switch fieldNum(key) {
		case 1:
			p.exRefs, n, err = appendRefs(p.exRefs, b[i:], wt, "labels_refs")
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
	if err := p.spend(len(p.exRefs)/2, sizeLabel); err != nil {
		return err
	}
	if err := p.spend(1, sizeExemplar); err != nil {
		return err
	}
	labels := len(p.exLabels)
	var err error
	p.exLabels, err = resolveLabels(p.exLabels, p.exRefs, p.symbols)
	ex.Labels = carve(p.exLabels, labels)
	p.exemplars = append(p.exemplars, ex)
	if err != nil {
		return &refError{err}
	}
	return nil
}

// decodeMetadataV2 merges the metadata in b into md.
func decodeMetadataV2(b []byte, md *writev2.Metadata) error {
	for i := 0; i < len(b); {
		key, n, err := tag(b[i:])
		if err != nil {
			return err
		}
		i += n
		wt := int(key & 7)
		switch fieldNum(key) {
		case 1:
			v, n, err := scalar(b[i:], wt, "type")
			if err != nil {
				return err
			}
			md.Type = writev2.Metadata_MetricType(int32(v))
			i += n
		case 3:
			v, n, err := scalar(b[i:], wt, "help_ref")
			if err != nil {
				return err
			}
			md.HelpRef = uint32(v)
			i += n
		case 4:
			v, n, err := scalar(b[i:], wt, "unit_ref")
			if err != nil {
				return err
			}
			md.UnitRef = uint32(v)
			i += n
		default:
			n, err := skipUnknown(b[i:], key)
			if err != nil {
				return err
			}
			i += n
		}
	}
	return nil
}

// resolveLabels appends the labels of name/value reference pairs to dst.
func resolveLabels(dst []prompb.Label, refs []uint32, symbols []string) ([]prompb.Label, error) {
	if len(refs)%2 != 0 {
		return dst, fmt.Errorf("odd number of label refs (%d): refs must come in name/value pairs", len(refs))
	}
	for k := 0; k < len(refs); k += 2 {
		name, value := refs[k], refs[k+1]
		if uint64(name) >= uint64(len(symbols)) {
			return dst, fmt.Errorf("label ref %d out of range (%d symbols)", name, len(symbols))
		}
		if uint64(value) >= uint64(len(symbols)) {
			return dst, fmt.Errorf("label ref %d out of range (%d symbols)", value, len(symbols))
		}
		dst = append(dst, prompb.Label{Name: symbols[name], Value: symbols[value]})
	}
	return dst, nil
}

// checkMetadataRefs checks the help and unit references of md against a
// symbols table of n entries.
func checkMetadataRefs(md *writev2.Metadata, n int) error {
	if uint64(md.HelpRef) >= uint64(n) {
		return fmt.Errorf("metadata help ref %d out of range (%d symbols)", md.HelpRef, n)
	}
	if uint64(md.UnitRef) >= uint64(n) {
		return fmt.Errorf("metadata unit ref %d out of range (%d symbols)", md.UnitRef, n)
	}
	return nil
}
