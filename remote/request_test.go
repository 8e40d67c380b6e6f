package remote

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// marshaler is implemented by the generated protobuf messages.
type marshaler interface{ Marshal() ([]byte, error) }

func compress(t testing.TB, m marshaler) []byte {
	t.Helper()
	raw, err := m.Marshal()
	if err != nil {
		t.Fatalf("cannot marshal: %v", err)
	}
	return snappy.Encode(nil, raw)
}

// newWriteRequest builds a POST with a known Content-Length and the given
// Content-Type; an empty contentType leaves the header out.
func newWriteRequest(body []byte, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("Content-Encoding", "snappy")
	return r
}

// streamed hides the length of r so that http.Request reports no Content-Length.
type streamed struct{ io.Reader }

func sentinelsIn(err error) []error {
	var kinds []error
	for _, s := range []error{ErrUnsupported, ErrTooLarge, ErrInvalid, ErrIncomplete, ErrTooSlow} {
		if errors.Is(err, s) {
			kinds = append(kinds, s)
		}
	}
	return kinds
}

// assertKind checks that err wraps want and no other sentinel.
func assertKind(t testing.TB, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error wrapping %v, got nil", want)
	}
	kinds := sentinelsIn(err)
	if len(kinds) != 1 || kinds[0] != want {
		t.Fatalf("error %q wraps %v, want exactly [%v]", err, kinds, want)
	}
}

func sampleV1() *prompb.WriteRequest {
	return &prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{
			{
				Labels:  []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "node"}},
				Samples: []prompb.Sample{{Value: 1, Timestamp: 1700000000000}},
			},
		},
	}
}

func sampleV2() *writev2.Request {
	return &writev2.Request{
		Symbols: []string{"", "__name__", "up", "job", "node"},
		Timeseries: []writev2.TimeSeries{
			{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: []writev2.Sample{{Value: 1, Timestamp: 1700000000000}}},
		},
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// decodeWith decodes r as a server does (ReadWriteBody, then Decode),
// handing its series to h. The caller must Release the result.
func decodeWith(r *http.Request, cfg Config, h SeriesHandler) (*WriteRequest, error) {
	body, err := ReadWriteBody(r, cfg)
	if err != nil {
		return nil, err
	}
	defer body.Release()
	return body.Decode(h)
}

// decodeWrite is decodeWith keeping a copy of every series handed out, in
// order, in the result.
func decodeWrite(r *http.Request, cfg Config) (*WriteRequest, error) {
	c := &collector{}
	req, err := decodeWith(r, cfg, c)
	if err != nil {
		return nil, err
	}
	req.series = c.series
	return req, nil
}

// counts returns the float samples, histogram samples and exemplars of
// req's series.
func counts(req *WriteRequest) (samples, histograms, exemplars int) {
	for _, s := range req.series {
		samples += len(s.Samples)
		histograms += len(s.Histograms)
		exemplars += len(s.Exemplars)
	}
	return samples, histograms, exemplars
}
