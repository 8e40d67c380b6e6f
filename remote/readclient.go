package remote

import (
	"errors"
	"fmt"
	"io"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// EncodeReadRequest returns the body of a remote-read request of queries
// that asks for a SAMPLES answer: a snappy-compressed prompb.ReadRequest.
// It is the client side of DecodeRead, for reading from another server's
// remote-read endpoint.
func EncodeReadRequest(queries ...*prompb.Query) ([]byte, error) {
	req := prompb.ReadRequest{Queries: queries, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES}}
	raw, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("cannot marshal read request: %w", err)
	}
	return snappy.Encode(nil, raw), nil
}

// FloatSeries is a series of a SAMPLES answer as ReadSamplesResponse
// reads it.
type FloatSeries struct {
	Labels  []prompb.Label
	Samples []FloatSample
}

// FloatSample is a float sample as ReadSamplesResponse reads it: 16 bytes,
// where a prompb.Sample takes 48.
type FloatSample struct {
	T int64 // milliseconds since the epoch
	V float64
}

// ReadSamplesResponse reads a SAMPLES answer from r and decodes its float
// samples: the series of each query result, in order. Exemplars and
// native histograms are skipped (see decodeSamplesResponse). Answers of
// more than maxBytes, compressed or decoded, are refused with an error
// that wraps ErrTooLarge before they are decoded.
func ReadSamplesResponse(r io.Reader, maxBytes int64) ([][]FloatSeries, error) {
	body, n, err := readLimited(r, 0, maxBytes)
	switch {
	case errors.Is(err, errOverLimit):
		return nil, newError(ErrTooLarge, "read response over %d bytes", maxBytes)
	case err != nil:
		return nil, newError(ErrIncomplete, "cannot read read response after %d bytes: %w", n, err)
	}
	defer compressedBuffers.put(body)
	if size, err := snappy.DecodedLen(body); err == nil && int64(size) > maxBytes {
		return nil, newError(ErrTooLarge, "read response of %d bytes decoded, over %d", size, maxBytes)
	}
	raw, err := decodeSnappy(body, maxBytes)
	if err != nil {
		return nil, newError(ErrInvalid, "cannot decode read response: %w", err)
	}
	defer decodedBuffers.put(raw)
	resp, err := decodeSamplesResponse(raw)
	if err != nil {
		return nil, newError(ErrInvalid, "cannot unmarshal read response from %d bytes: %w", len(raw), err)
	}
	return resp, nil
}
