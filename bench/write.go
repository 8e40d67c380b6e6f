package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

type writeOptions struct {
	url         string
	samples     int
	batch       int
	concurrency int
	protocol    string
}

// span is one request's worth of samples: sample n of series [from, to),
// in time order like Prometheus's shards send them.
type span struct{ n, from, to int }

func runWrite(g *generator, o *writeOptions) error {
	labels := make([][]prompb.Label, g.series)
	for i := range labels {
		labels[i] = g.labels(i)
	}
	spans := make(chan span)
	go func() {
		defer close(spans)
		for n := 0; n < o.samples; n++ {
			for from := 0; from < g.series; from += o.batch {
				spans <- span{n, from, min(from+o.batch, g.series)}
			}
		}
	}()

	var (
		sent      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		byStatus  = map[string]int{}
		wg        sync.WaitGroup
		client    = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency}, Timeout: time.Minute}
	)
	stop := make(chan struct{})
	begin := time.Now()
	go progress(stop, func() string {
		el := time.Since(begin).Seconds()
		return fmt.Sprintf("write: %d samples, %.0f samples/s", sent.Load(), float64(sent.Load())/el)
	})
	for c := 0; c < o.concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sp := range spans {
				body, ctype := encodeWrite(g, labels, sp, o.protocol)
				t0 := time.Now()
				status := post(client, o.url, ctype, body)
				d := time.Since(t0)
				mu.Lock()
				latencies = append(latencies, d)
				byStatus[status]++
				mu.Unlock()
				if status == "204" || status == "200" {
					sent.Add(int64(sp.to - sp.from))
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	elapsed := time.Since(begin)

	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))]
	}
	fmt.Printf("url\tsamples\tseconds\tsamples/s\trequests/s\tp50\tp99\tstatuses\n")
	fmt.Printf("%s\t%d\t%.2f\t%.0f\t%.1f\t%v\t%v\t%v\n", o.url, sent.Load(), elapsed.Seconds(),
		float64(sent.Load())/elapsed.Seconds(), float64(len(latencies))/elapsed.Seconds(),
		pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), byStatus)
	if len(byStatus) != 1 || (byStatus["204"] == 0 && byStatus["200"] == 0) {
		return fmt.Errorf("some requests failed: %v", byStatus)
	}
	return nil
}

func encodeWrite(g *generator, labels [][]prompb.Label, sp span, protocol string) ([]byte, string) {
	ts := g.timestamp(sp.n)
	var raw []byte
	var err error
	if protocol == "2" {
		st := writev2.NewSymbolTable()
		req := &writev2.Request{}
		for i := sp.from; i < sp.to; i++ {
			s := writev2.TimeSeries{Samples: []writev2.Sample{{Value: g.value(i, sp.n), Timestamp: ts}}}
			for _, l := range labels[i] {
				s.LabelsRefs = append(s.LabelsRefs, st.Symbolize(l.Name), st.Symbolize(l.Value))
			}
			req.Timeseries = append(req.Timeseries, s)
		}
		req.Symbols = st.Symbols()
		raw, err = proto.Marshal(req)
	} else {
		req := &prompb.WriteRequest{}
		for i := sp.from; i < sp.to; i++ {
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: labels[i], Samples: []prompb.Sample{{Value: g.value(i, sp.n), Timestamp: ts}}})
		}
		raw, err = proto.Marshal(req)
	}
	if err != nil {
		panic(err) // generated messages always marshal
	}
	ctype := "application/x-protobuf"
	if protocol == "2" {
		ctype += ";proto=io.prometheus.write.v2.Request"
	}
	return snappy.Encode(nil, raw), ctype
}

// post sends one request and returns its status code, or "error".
func post(client *http.Client, url, contentType string, body []byte) string {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "error"
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := client.Do(req)
	if err != nil {
		return "error"
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return fmt.Sprint(resp.StatusCode)
}
