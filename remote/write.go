package remote

import (
	"net/http"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// WriteRequest is one decoded remote-write request: RW 1.0 and RW 2.0 in one
// series view. WriteBody.Decode hands its series out one by one (Series);
// what it returns holds the rest.
//
// Memory: a WriteRequest is pooled and aliases its decompressed body. Every
// string in it (label names and values, exemplar labels, metadata help, unit
// and family name) points into that body, and every slice into arenas shared
// by all its series. They are valid until Release and no longer: whoever
// keeps a string past Release (a metadata cache, a map key, an error kept
// for later) must copy it with strings.Clone first. Writing to a slice of
// the view does not change other series: each has its capacity cut to its
// length.
type WriteRequest struct {
	// Version is the protocol the request was sent with.
	Version WriteVersion
	// series holds the series in the order sent while the request is
	// decoded whole (Remote-Write 2.0).
	series []Series
	// Metadata is the request-level metadata of Remote-Write 1.0. Remote-Write
	// 2.0 carries metadata per series instead (Series.Metadata), so it is
	// empty for WriteV2.
	Metadata []prompb.MetricMetadata
}

// Series is one time series of a write request, as WriteBody.Decode hands
// it out. Its strings belong to the WriteRequest it came from and are valid
// until that request's Release (see WriteRequest); its slices are valid
// only during the call that got it.
type Series struct {
	// Labels are the series labels in the order sent (senders sort them by
	// name, but remote does not rely on it).
	Labels []prompb.Label
	// Samples are the float samples, oldest first.
	Samples []prompb.Sample
	// Histograms are the native histogram samples, oldest first.
	Histograms []prompb.Histogram
	// Exemplars belong to the series' samples or histograms.
	Exemplars []prompb.Exemplar
	// Metadata is the Remote-Write 2.0 per-series metadata: type, help and
	// unit. MetricFamilyName stays empty because 2.0 does not carry it. It is
	// the zero value for Remote-Write 1.0.
	Metadata prompb.MetricMetadata
	// CreatedTimestamp is the series' created (start) timestamp in
	// milliseconds, 0 when unknown. Only Remote-Write 2.0 carries it: as the
	// per-series created_timestamp of earlier 2.0 senders, or as per-sample
	// start timestamps, of which the first non-zero one is kept.
	CreatedTimestamp int64
}

// WriteBody is a remote-write request whose compressed body has arrived
// whole, not yet decoded. A server reads bodies first and decodes them in
// turn, so that a sender that is slow to send holds no decoding turn.
type WriteBody struct {
	version    WriteVersion
	compressed []byte // pooled
	cfg        Config
}

// ReadWriteBody negotiates the version of the remote-write request r with
// NegotiateWrite and reads its compressed body whole, within
// cfg.MaxRequestBytes: a declared Content-Length over it fails before
// anything is read.
//
// The caller must call Release on the result. Every error wraps exactly one
// of ErrUnsupported, ErrTooLarge, ErrIncomplete or ErrTooSlow and has a
// one-line message fit to return to the sender. ReadWriteBody does not
// close r.Body.
func ReadWriteBody(r *http.Request, cfg Config) (WriteBody, error) {
	version, err := NegotiateWrite(r.Header)
	if err != nil {
		return WriteBody{}, err
	}
	compressed, err := readBody(r.Body, r.ContentLength, int64(cfg.MaxRequestBytes))
	if err != nil {
		return WriteBody{}, err
	}
	return WriteBody{version: version, compressed: compressed, cfg: cfg}, nil
}

// SeriesHandler takes the series of a request from WriteBody.Decode.
type SeriesHandler interface {
	// Series takes one series; an error stops the decoding.
	Series(*Series) error
}

// Decode decompresses the body, after checking the decoded length its
// snappy header announces against the limit, and decodes the message,
// handing each series to h in the order sent. It returns the request with
// its Remote-Write 1.0 metadata, the series having gone to h.
//
// A Remote-Write 1.0 series is handed out as soon as it is decoded, and
// its memory is then reused for the next one while it is still in the
// processor's caches: a series and its slices are valid only during its
// call. Remote-Write 2.0 requests are decoded whole first, their symbol
// references resolved and bounds-checked.
//
// A request that is malformed or over one of the limits of b's Config is
// refused whole: the answer is the decoding error, else too many series,
// else the first series over a series limit, and comes only once the body
// is decoded to its end. Series before the refusal may have been handed
// out by then, and the caller must drop what it made of them. Every error
// wraps ErrInvalid, or ErrTooLarge when the decoded request would take too
// much memory, and has a one-line message fit to return to the sender. An
// error of h stops the decoding and is returned as it is.
//
// The caller must call Release on the result when done with it; the
// strings of the series and of the metadata alias the decompressed body
// (see WriteRequest), not b, which may be released first.
func (b *WriteBody) Decode(h SeriesHandler) (*WriteRequest, error) {
	decoded, err := decodeSnappy(b.compressed, int64(b.cfg.MaxDecodedBytes))
	if err != nil {
		return nil, err
	}
	p := getRequest(b.version, decoded)
	p.cfg = b.cfg
	if b.version == WriteV2 {
		err = p.decodeThenEach(h)
	} else {
		p.each = h
		err = p.decode(decoded)
	}
	switch {
	case p.eachErr != nil:
		err = p.eachErr
	case err != nil:
	case over(p.seen, b.cfg.MaxSeriesPerRequest):
		err = seriesOver(p.seen, b.cfg.MaxSeriesPerRequest)
	default:
		err = p.refused
	}
	if err != nil {
		p.release()
		return nil, err
	}
	return &p.req, nil
}

// decodeThenEach decodes the Remote-Write 2.0 request in p whole, then
// hands its series out.
func (p *pooledRequest) decodeThenEach(h SeriesHandler) error {
	if err := p.decode(p.body); err != nil {
		return err
	}
	p.each = h
	for i := range p.req.series {
		if err := p.handOut(&p.req.series[i]); err != nil {
			return err
		}
		p.seen++
	}
	p.req.series = nil
	return nil
}

// handOut gives s, series number p.seen, to p.each if it passes the
// series limits of p.cfg and no series before it failed them. Past a
// refusal, and past limits.max_series_per_request, series are only
// counted, so that the answer can name their number.
func (p *pooledRequest) handOut(s *Series) error {
	if p.refused != nil || over(p.seen+1, p.cfg.MaxSeriesPerRequest) {
		return nil
	}
	if p.refused = p.cfg.checkSeries(p.seen, s); p.refused != nil {
		return nil
	}
	p.eachErr = p.each.Series(s)
	return p.eachErr
}

// Release returns b's buffer for reuse; b must not be used after.
func (b *WriteBody) Release() {
	compressedBuffers.put(b.compressed)
	b.compressed = nil
}

// decode decodes body as the message of p's version.
func (p *pooledRequest) decode(body []byte) error {
	if p.req.Version == WriteV2 {
		return p.decodeV2(body)
	}
	return p.decodeV1(body)
}

// misdirected tells, in plain words, when a body that failed to decode as
// declared (or decoded to nothing but unknown fields) is a different message:
// the other remote-write version, or a remote-read request. It returns "" when
// the body matches none of them.
func misdirected(body []byte, declared WriteVersion) string {
	var read prompb.ReadRequest
	if read.Unmarshal(body) == nil && len(read.Queries) > 0 && len(read.XXX_unrecognized) == 0 {
		return "this is a remote-read request; send it to /api/v1/read"
	}
	switch declared {
	case WriteV1:
		var v2 writev2.Request
		if v2.Unmarshal(body) == nil && len(v2.Timeseries) > 0 && len(v2.XXX_unrecognized) == 0 {
			return "body looks like a Remote-Write 2.0 request sent with the 1.0 content type; send it with Content-Type: " + ContentTypeWriteV2
		}
	case WriteV2:
		var v1 prompb.WriteRequest
		if v1.Unmarshal(body) == nil && len(v1.Timeseries)+len(v1.Metadata) > 0 && len(v1.XXX_unrecognized) == 0 {
			return "body looks like a Remote-Write 1.0 request sent with the 2.0 content type; send it with Content-Type: " + ContentTypeWriteV1
		}
	}
	return ""
}
