package remote

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// ProtoReadRequest is the protobuf message name a remote-read request may
// declare in the proto parameter of its Content-Type header.
const ProtoReadRequest = "prometheus.ReadRequest"

// DecodeRead decodes the remote-read request r within the limits of cfg, the
// same limits as for writes.
//
// Content-Encoding must be empty or snappy and Content-Type empty or
// application/x-protobuf, without a proto parameter or with
// proto=prometheus.ReadRequest; Prometheus sends "application/x-protobuf"
// with "snappy". The body must hold at least one query, and every query is
// checked: start <= end, every matcher of a known type with a non-empty label
// name. Regular expressions are not compiled here; that is the caller's job,
// with the semantics it implements.
//
// A remote-write request sent here, recognised from its Content-Type or its
// body, fails with ErrInvalid and a message that says where to send it.
// Every error wraps exactly one of ErrUnsupported, ErrTooLarge, ErrIncomplete,
// ErrTooSlow or ErrInvalid and has a one-line message fit to return to the sender.
// DecodeRead does not close r.Body.
func DecodeRead(r *http.Request, cfg Config) (*prompb.ReadRequest, error) {
	if err := checkEncoding(r.Header.Values("Content-Encoding")); err != nil {
		return nil, err
	}
	if err := checkReadContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	decoded, err := readSnappyBody(r, cfg)
	if err != nil {
		return nil, err
	}
	defer decodedBuffers.put(decoded)

	var req prompb.ReadRequest
	if err := req.Unmarshal(decoded); err != nil {
		if hint := misdirectedWrite(decoded); hint != "" {
			return nil, newError(ErrInvalid, "%s", hint)
		}
		return nil, newError(ErrInvalid, "cannot unmarshal %s from %d bytes: %w", ProtoReadRequest, len(decoded), err)
	}
	if len(req.Queries) == 0 {
		if hint := misdirectedWrite(decoded); hint != "" {
			return nil, newError(ErrInvalid, "%s", hint)
		}
		return nil, newError(ErrInvalid, "read request of %d bytes holds no queries", len(decoded))
	}
	if err := cfg.checkRead(&req); err != nil {
		return nil, err
	}
	for i, q := range req.Queries {
		if err := validateQuery(q); err != nil {
			return nil, newError(ErrInvalid, "query %d: %w", i, err)
		}
	}
	return &req, nil
}

// checkReadContentType accepts what remote-read clients send. A remote-write
// Content-Type is the caller knocking on the wrong door, which deserves a
// plain answer (and a 400, like a wrong-way body) rather than a bare 415.
func checkReadContentType(ct string) error {
	if strings.TrimSpace(ct) == "" {
		return nil
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return newError(ErrUnsupported, "cannot parse Content-Type %q: %w", ct, err)
	}
	if mediaType != protobufMediaType {
		return newError(ErrUnsupported, "unsupported Content-Type %q: expected %s", ct, protobufMediaType)
	}
	proto, ok := params["proto"]
	switch {
	case !ok || strings.EqualFold(proto, ProtoReadRequest):
		return nil
	case strings.EqualFold(proto, ProtoWriteV1), strings.EqualFold(proto, ProtoWriteV2):
		return newError(ErrInvalid, "Content-Type %q is a remote-write request; send it to /api/v1/write", ct)
	default:
		return newError(ErrUnsupported, "unsupported Content-Type %q: proto must be %s", ct, ProtoReadRequest)
	}
}

// misdirectedWrite returns a plain-words hint when body, which did not decode
// into a usable read request, is a remote-write request of either version,
// and "" otherwise. Unknown fields disqualify a candidate so that garbage
// that happens to parse is not given a misleading hint.
func misdirectedWrite(body []byte) string {
	const hint = "this is a remote-write request; send it to /api/v1/write"
	var v1 prompb.WriteRequest
	if v1.Unmarshal(body) == nil && len(v1.Timeseries)+len(v1.Metadata) > 0 && len(v1.XXX_unrecognized) == 0 {
		return hint
	}
	var v2 writev2.Request
	if v2.Unmarshal(body) == nil && len(v2.Timeseries) > 0 && len(v2.XXX_unrecognized) == 0 {
		return hint
	}
	return ""
}

// validateQuery checks what can be checked without choosing regular
// expression semantics. The caller classifies the error.
func validateQuery(q *prompb.Query) error {
	if q.StartTimestampMs > q.EndTimestampMs {
		return fmt.Errorf("start %d ms is after end %d ms", q.StartTimestampMs, q.EndTimestampMs)
	}
	for j, m := range q.Matchers {
		if _, known := prompb.LabelMatcher_Type_name[int32(m.Type)]; !known {
			return fmt.Errorf("matcher %d on label %q has unknown type %d", j, m.Name, int32(m.Type))
		}
		if m.Name == "" {
			return fmt.Errorf("matcher %d (%s %q) has an empty label name", j, m.Type, m.Value)
		}
	}
	return nil
}
