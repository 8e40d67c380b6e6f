package remote

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// TestReadClientRoundTrip: a request EncodeReadRequest builds is what
// DecodeRead reads, and ReadSamplesResponse reads what the generated code
// marshals.
func TestReadClientRoundTrip(t *testing.T) {
	q := &prompb.Query{StartTimestampMs: 1, EndTimestampMs: 2, Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: "up"}}}
	body, err := EncodeReadRequest(q)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	var req prompb.ReadRequest
	if err := req.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	if len(req.Queries) != 1 || req.Queries[0].String() != q.String() || len(req.AcceptedResponseTypes) != 1 || req.AcceptedResponseTypes[0] != prompb.ReadRequest_SAMPLES {
		t.Errorf("decoded %v", req.String())
	}

	resp := prompb.ReadResponse{Results: []*prompb.QueryResult{{Timeseries: []*prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "job", Value: "a"}},
		Samples: []prompb.Sample{{Timestamp: 1, Value: 0.5}, {Timestamp: 2, Value: -1}},
	}}}}}
	raw, err = resp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	encoded := snappy.Encode(nil, raw)
	got, err := ReadSamplesResponse(bytes.NewReader(encoded), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if !sameResponse(got, &resp) {
		t.Errorf("got %+v\nwant %v", got, &resp)
	}
	for _, tc := range []struct {
		name string
		body []byte
		max  int64
		want error
	}{
		{"compressed over the bound", encoded, int64(len(encoded)) - 1, ErrTooLarge},
		{"decoded over the bound", encoded, int64(len(raw)) - 1, ErrTooLarge},
		{"not snappy", []byte("\xff\xff\xff\xff\xff"), 100, ErrInvalid},
		{"not a response", snappy.Encode(nil, []byte("\x0a\x05")), 100, ErrInvalid},
	} {
		if _, err := ReadSamplesResponse(bytes.NewReader(tc.body), tc.max); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := ReadSamplesResponse(iotest.ErrReader(errors.New("broken")), 100); !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "broken") {
		t.Errorf("broken answer: %v, want ErrIncomplete", err)
	}
}
