package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/remote"
)

type readOptions struct {
	url      string
	match    string
	samples  int
	respType string
	runs     int
	label    string
	procs    procFlags
	csvPath  string
}

func runRead(g *generator, o *readOptions) error {
	ms, err := mapping.ParseSelector(o.match)
	if err != nil {
		return fmt.Errorf("--match: %w", err)
	}
	q := &prompb.Query{StartTimestampMs: g.start, EndTimestampMs: g.timestamp(o.samples - 1)}
	for _, m := range ms {
		q.Matchers = append(q.Matchers, &prompb.LabelMatcher{Type: matchType(m.Type), Name: m.Name, Value: m.Value})
	}
	req := &prompb.ReadRequest{Queries: []*prompb.Query{q}}
	if o.respType == "streamed" {
		req.AcceptedResponseTypes = []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS}
	}
	raw, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	body := snappy.Encode(nil, raw)
	pids, names, err := o.procs.resolve()
	if err != nil {
		return err
	}
	ws, err := watchProcs(pids, names)
	if err != nil {
		return err
	}

	client := &http.Client{Timeout: 10 * time.Minute}
	var (
		runs            []time.Duration
		samples, series int
	)
	t0 := time.Now()
	for run := 0; run < o.runs; run++ {
		t := time.Now()
		series, samples, err = readOnce(client, o.url, body)
		if err != nil {
			ws.finish()
			return err
		}
		runs = append(runs, time.Since(t))
		fmt.Fprintf(os.Stderr, "read %s run %d: %d series, %d samples in %v\n", o.label, run+1, series, samples, runs[run].Round(time.Millisecond))
	}
	elapsed := time.Since(t0)
	usage, err := ws.finish()
	if err != nil {
		return err
	}
	if samples == 0 {
		return errors.New("the read returned no samples: is the data loaded?")
	}
	slices.Sort(runs)
	best := runs[0]
	rss := "-"
	if len(usage) > 0 {
		rss = fmt.Sprintf("%.1fMiB", usage[0].PeakMiB)
	}
	fmt.Printf("%s\t%s\t%d\t%d\t%.3f\t%.0f\t%s\n", o.label, o.respType, series, samples, best.Seconds(), float64(samples)/best.Seconds(), rss)
	if o.csvPath == "" {
		return nil
	}
	// One row for the reads: throughput of the best run, like the table;
	// CPU over all runs.
	return appendCSV(o.csvPath, []result{{
		Target:      o.label,
		Protocol:    "read-" + o.respType,
		Concurrency: 1,
		Samples:     int64(samples),
		Seconds:     best.Seconds(),
		SamplesPerS: float64(samples) / best.Seconds(),
		RequestsPS:  float64(len(runs)) / elapsed.Seconds(),
		P50ms:       millis(percentile(runs, 0.5)),
		P99ms:       millis(percentile(runs, 0.99)),
		Errors:      map[string]int{},
		Procs:       usage,
	}})
}

// readOnce sends one read request and decodes the whole answer, as
// Prometheus would, returning the series and samples it held.
func readOnce(client *http.Client, url string, body []byte) (series, samples int, err error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, 0, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-streamed-protobuf") {
		return countStreamed(resp.Body)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	rr, err := remote.DecodeReadResponse(b)
	if err != nil {
		return 0, 0, err
	}
	for _, r := range rr.Results {
		for _, ts := range r.Timeseries {
			series++
			samples += len(ts.Samples)
		}
	}
	return series, samples, nil
}

func countStreamed(r io.Reader) (series, samples int, err error) {
	cr := remote.NewChunkedReader(bufio.NewReader(r), remote.DefaultMaxFrameBytes)
	var last string
	for {
		msg, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return series, samples, nil
		}
		if err != nil {
			return 0, 0, err
		}
		for _, cs := range msg.ChunkedSeries {
			if key := fmt.Sprint(cs.Labels); key != last {
				series++
				last = key
			}
			for _, c := range cs.Chunks {
				chk, err := chunkenc.FromData(chunkenc.EncXOR, c.Data)
				if err != nil {
					return 0, 0, err
				}
				it := chk.Iterator(nil)
				for it.Next() != chunkenc.ValNone {
					samples++
				}
				if it.Err() != nil {
					return 0, 0, it.Err()
				}
			}
		}
	}
}

func matchType(t labels.MatchType) prompb.LabelMatcher_Type {
	switch t {
	case labels.MatchNotEqual:
		return prompb.LabelMatcher_NEQ
	case labels.MatchRegexp:
		return prompb.LabelMatcher_RE
	case labels.MatchNotRegexp:
		return prompb.LabelMatcher_NRE
	default:
		return prompb.LabelMatcher_EQ
	}
}
