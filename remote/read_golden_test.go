package remote

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

// renderReadRequest prints a decoded read request one query per line.
func renderReadRequest(r *prompb.ReadRequest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "accepted %v\n", r.AcceptedResponseTypes)
	for _, q := range r.Queries {
		fmt.Fprintf(&b, "query [%d, %d] {", q.StartTimestampMs, q.EndTimestampMs)
		for i, m := range q.Matchers {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s %q", m.Name, m.Type, m.Value)
		}
		b.WriteString("}")
		if h := q.Hints; h != nil {
			fmt.Fprintf(&b, " hints func=%s step=%d range=%d [%d, %d] by=%v grouping=%v", h.Func, h.StepMs, h.RangeMs, h.StartMs, h.EndMs, h.By, h.Grouping)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// The body under testdata was captured from Prometheus 2.42 evaluating
// rate(node_cpu_seconds_total{job=~"node|prom.*",mode!="idle",cpu!~"1.*",instance=""}[5m])
// over an hour against a remote_read endpoint; it sent it with the headers
// set below.
func TestDecodeReadPrometheusGolden(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "prometheus-2.42-read.snappy"))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/api/v1/read", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-protobuf")
	r.Header.Set("Content-Encoding", "snappy")
	r.Header.Set("Accept-Encoding", "snappy")
	r.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	got, err := DecodeRead(r, DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := NegotiateReadResponse(got.AcceptedResponseTypes)
	if err != nil || rt != prompb.ReadRequest_SAMPLES {
		t.Fatalf("negotiated %v, %v; Prometheus 2.42 only reads SAMPLES", rt, err)
	}

	checkGolden(t, filepath.Join("testdata", "prometheus-2.42-read.golden"), renderReadRequest(got))
}
