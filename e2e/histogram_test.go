package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promflux/promflux/influxworker/influxtest"
	"github.com/promflux/promflux/remote"
)

// TestNativeHistogramsEndToEnd: a real Prometheus 2.42 with native
// histograms enabled scrapes a target exposing one and remote-writes it
// through promflux; reading it back through promflux's remote read (both
// response types) gives every histogram sample Prometheus holds, with the
// same count and sum. (Prometheus 2.42's own remote-read client cannot take
// native histograms, so the reading side here is the test; the bucket-level
// round trip is covered by the mapping and remote tests.)
func TestNativeHistogramsEndToEnd(t *testing.T) {
	influx := influxtest.Start(t)
	pf := startPromflux(t, influxConfig(influx.URL(), "e2e"))

	target := startHistogramTarget(t, false)

	a := startPrometheus(t, "prometheus", freeAddr(t),
		scraperConfig("target", target, pf.addr, "send_native_histograms: true"),
		"--enable-feature=native-histograms")

	deadline := time.Now().Add(60 * time.Second)
	for {
		at := time.Now().Add(-2 * time.Second)
		want := promHistograms(t, a.addr, "demo_latency_seconds[20s]", at)
		samples := readHistograms(t, pf.addr, prompb.ReadRequest_SAMPLES, at.Add(-20*time.Second), at)
		streamed := readHistograms(t, pf.addr, prompb.ReadRequest_STREAMED_XOR_CHUNKS, at.Add(-20*time.Second), at)
		if strings.Count(want, "\n") >= 5 && want == samples && want == streamed {
			t.Logf("%d native histogram samples identical", strings.Count(want, "\n"))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus holds:\n%s\npromflux SAMPLES:\n%s\npromflux STREAMED:\n%s", want, samples, streamed)
		}
		time.Sleep(time.Second)
	}
}

// promHistograms returns "ts count sum" lines of a range-vector query's
// native histogram samples.
func promHistograms(t *testing.T, addr, query string, at time.Time) string {
	t.Helper()
	var b strings.Builder
	for _, raw := range promResult(t, addr, "/api/v1/query", url.Values{"query": {query}, "time": {promTime(at)}}) {
		var r struct {
			Histograms [][2]json.RawMessage
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		for _, hv := range r.Histograms {
			var ts float64
			var h struct{ Count, Sum string }
			if json.Unmarshal(hv[0], &ts) != nil || json.Unmarshal(hv[1], &h) != nil {
				t.Fatalf("unexpected histogram sample %s", hv)
			}
			count, _ := strconv.ParseFloat(h.Count, 64)
			sum, _ := strconv.ParseFloat(h.Sum, 64)
			fmt.Fprintf(&b, "%d %v %v\n", int64(math.Round(ts*1000)), count, sum)
		}
	}
	return b.String()
}

// readHistograms reads demo_latency_seconds through promflux's remote read
// and returns the same "ts count sum" lines.
func readHistograms(t *testing.T, addr string, typ prompb.ReadRequest_ResponseType, from, to time.Time) string {
	t.Helper()
	q := &prompb.Query{StartTimestampMs: from.UnixMilli(), EndTimestampMs: to.UnixMilli(),
		Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: "demo_latency_seconds"}}}
	raw, err := proto.Marshal(&prompb.ReadRequest{Queries: []*prompb.Query{q}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{typ}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/api/v1/read", "application/x-protobuf", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("remote read: %s: %s", resp.Status, body)
	}
	var b strings.Builder
	if typ == prompb.ReadRequest_SAMPLES {
		rr, err := remote.DecodeReadResponse(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, ts := range rr.Results[0].Timeseries {
			for _, h := range ts.Histograms {
				fmt.Fprintf(&b, "%d %v %v\n", h.Timestamp, h.ToIntHistogram().Count, h.Sum)
			}
		}
		return b.String()
	}
	cr := remote.NewChunkedReader(bytes.NewReader(body), remote.DefaultMaxFrameBytes)
	for {
		msg, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return b.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, cs := range msg.ChunkedSeries {
			for _, c := range cs.Chunks {
				if c.Type != prompb.Chunk_HISTOGRAM {
					t.Fatalf("chunk type %v, want HISTOGRAM", c.Type)
				}
				chk, err := chunkenc.FromData(chunkenc.EncHistogram, c.Data)
				if err != nil {
					t.Fatal(err)
				}
				it := chk.Iterator(nil)
				for it.Next() == chunkenc.ValHistogram {
					ts, h := it.AtHistogram(nil)
					fmt.Fprintf(&b, "%d %v %v\n", ts, h.Count, h.Sum)
				}
			}
		}
	}
}
