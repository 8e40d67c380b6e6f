package remote

import (
	"mime"
	"net/http"
	"strings"
)

// WriteVersion is the remote-write protocol version of a request.
type WriteVersion int

// The remote-write protocol versions.
const (
	WriteV1 WriteVersion = 1 // prometheus.WriteRequest
	WriteV2 WriteVersion = 2 // io.prometheus.write.v2.Request
)

// String returns the specification version, "1.0" or "2.0", suitable as a
// metric label value.
func (v WriteVersion) String() string {
	switch v {
	case WriteV1:
		return "1.0"
	case WriteV2:
		return "2.0"
	default:
		return "unknown"
	}
}

// Protobuf message names as they appear in the proto parameter of the
// Content-Type header.
const (
	ProtoWriteV1 = "prometheus.WriteRequest"
	ProtoWriteV2 = "io.prometheus.write.v2.Request"
)

// Content-Type header values senders use for each version.
const (
	ContentTypeWriteV1 = "application/x-protobuf;proto=" + ProtoWriteV1
	ContentTypeWriteV2 = "application/x-protobuf;proto=" + ProtoWriteV2
)

const protobufMediaType = "application/x-protobuf"

// NegotiateWrite picks the remote-write version from the Content-Type and
// Content-Encoding headers of a write request. It lets a caller learn the
// version (and so whether Remote-Write 2.0 response headers are due) even when
// the body later fails to decode. Errors wrap ErrUnsupported.
//
// Following both specifications, a missing Content-Type or one without a
// proto parameter means Remote-Write 1.0, and a missing Content-Encoding means
// snappy block format, which older senders send without declaring it.
func NegotiateWrite(h http.Header) (WriteVersion, error) {
	if err := checkEncoding(h.Values("Content-Encoding")); err != nil {
		return 0, err
	}
	return versionFromContentType(h.Get("Content-Type"))
}

func checkEncoding(values []string) error {
	switch {
	case len(values) == 0:
		return nil
	case len(values) > 1:
		return newError(ErrUnsupported, "unsupported Content-Encoding %q: only snappy is supported", strings.Join(values, ", "))
	}
	enc := strings.TrimSpace(values[0])
	if enc == "" || strings.EqualFold(enc, "snappy") {
		return nil
	}
	return newError(ErrUnsupported, "unsupported Content-Encoding %q: only snappy is supported", values[0])
}

func versionFromContentType(ct string) (WriteVersion, error) {
	if strings.TrimSpace(ct) == "" {
		return WriteV1, nil
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, newError(ErrUnsupported, "cannot parse Content-Type %q: %w", ct, err)
	}
	// ParseMediaType already lower-cases the media type and parameter names.
	if mediaType != protobufMediaType {
		return 0, newError(ErrUnsupported, "unsupported Content-Type %q: expected %s", ct, protobufMediaType)
	}
	proto, ok := params["proto"]
	switch {
	case !ok || strings.EqualFold(proto, ProtoWriteV1):
		return WriteV1, nil
	case strings.EqualFold(proto, ProtoWriteV2):
		return WriteV2, nil
	default:
		return 0, newError(ErrUnsupported, "unsupported Content-Type %q: proto must be %s or %s", ct, ProtoWriteV1, ProtoWriteV2)
	}
}
