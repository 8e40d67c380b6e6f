package remote

import (
	"strings"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// Content-Type header values of the two remote-read response types. Prometheus
// recognises a streamed response by this exact string as a prefix, space
// included.
const (
	ContentTypeReadResponse         = protobufMediaType
	ContentTypeStreamedReadResponse = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
)

// NegotiateReadResponse picks the response type of a read request: the first
// of accepted, in the client's order of preference, that remote can write.
// An empty list means SAMPLES, the only type of clients that predate the
// field. When none is supported, the error wraps ErrInvalid and names the
// types offered.
func NegotiateReadResponse(accepted []prompb.ReadRequest_ResponseType) (prompb.ReadRequest_ResponseType, error) {
	if len(accepted) == 0 {
		return prompb.ReadRequest_SAMPLES, nil
	}
	for _, t := range accepted {
		switch t {
		case prompb.ReadRequest_SAMPLES, prompb.ReadRequest_STREAMED_XOR_CHUNKS:
			return t, nil
		}
	}
	offered := make([]string, len(accepted))
	for i, t := range accepted {
		offered[i] = t.String()
	}
	return 0, newError(ErrInvalid, "none of the accepted response types [%s] is supported; supported: %s, %s",
		strings.Join(offered, ", "), prompb.ReadRequest_SAMPLES, prompb.ReadRequest_STREAMED_XOR_CHUNKS)
}

// DecodeReadResponse decodes the body of a SAMPLES response: a
// snappy-compressed prompb.ReadResponse. It is the client side of
// SamplesWriter. Errors wrap ErrInvalid.
func DecodeReadResponse(body []byte) (*prompb.ReadResponse, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, newError(ErrInvalid, "cannot decode snappy read response of %d bytes: %w", len(body), err)
	}
	var resp prompb.ReadResponse
	if err := resp.Unmarshal(raw); err != nil {
		return nil, newError(ErrInvalid, "cannot unmarshal read response from %d bytes: %w", len(raw), err)
	}
	return &resp, nil
}
