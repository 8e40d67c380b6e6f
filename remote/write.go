package remote

import (
	"net/http"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// WriteRequest is one decoded remote-write request: RW 1.0 and RW 2.0 in one
// series view.
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
	// Series holds the series in the order sent.
	Series []Series
	// Metadata is the request-level metadata of Remote-Write 1.0. Remote-Write
	// 2.0 carries metadata per series instead (Series.Metadata), so it is
	// empty for WriteV2.
	Metadata []prompb.MetricMetadata
}

// Series is one time series of a write request. Its strings and slices
// belong to the WriteRequest it came from: they are valid until that
// request's Release (see WriteRequest).
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

// Counts returns the number of float samples, histogram samples and
// exemplars in the request, the figures the Remote-Write 2.0
// X-Prometheus-Remote-Write-*-Written headers report when everything is stored.
func (r *WriteRequest) Counts() (samples, histograms, exemplars int) {
	for i := range r.Series {
		samples += len(r.Series[i].Samples)
		histograms += len(r.Series[i].Histograms)
		exemplars += len(r.Series[i].Exemplars)
	}
	return samples, histograms, exemplars
}

// DecodeWrite decodes the remote-write request r within the limits of cfg:
// ReadWriteBody and WriteBody.Decode in one call.
//
// The caller must call Release on the result when done with it; the strings
// of the result alias its body (see WriteRequest). DecodeWrite does not
// close r.Body.
func DecodeWrite(r *http.Request, cfg Config) (*WriteRequest, error) {
	body, err := ReadWriteBody(r, cfg)
	if err != nil {
		return nil, err
	}
	defer body.Release()
	return body.Decode()
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

// Decode checks the decoded length announced by the snappy header against
// the limit before decompressing, and unmarshals and converts the message.
// Remote-Write 2.0 symbol references are resolved and bounds-checked. A
// request over one of the request limits of its Config is refused whole.
//
// The caller must call Release on the result when done with it; the strings
// of the result alias its decompressed body (see WriteRequest), not b,
// which may be released first. Every error wraps ErrInvalid, or ErrTooLarge
// when the decoded request would take too much memory, and has a one-line
// message fit to return to the sender.
func (b *WriteBody) Decode() (*WriteRequest, error) {
	decoded, err := decodeSnappy(b.compressed, int64(b.cfg.MaxDecodedBytes))
	if err != nil {
		return nil, err
	}
	p := getRequest(b.version, decoded)
	if err := p.decode(decoded); err != nil {
		p.release()
		return nil, err
	}
	if err := b.cfg.checkWrite(&p.req); err != nil {
		p.release()
		return nil, err
	}
	return &p.req, nil
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
