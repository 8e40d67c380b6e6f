package e2e

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// trickleConns keeps n connections to addr, each sending the header
// section of a POST to path and then one body byte a second, reopening
// those promflux cuts, until stop is closed.
func trickleConns(t *testing.T, addr, path string, n int, stop <-chan struct{}) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: promflux\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nContent-Length: 100000\r\n\r\n", path)
				tick := time.NewTicker(time.Second)
				for err == nil {
					select {
					case <-stop:
						tick.Stop()
						c.Close()
						return
					case <-tick.C:
						_, err = c.Write([]byte{0})
					}
				}
				tick.Stop()
				c.Close()
			}
		}()
	}
	return &wg
}

// TestSlowClientsDoNotStallPrometheus: 64 connections trickle remote-write
// bodies and 64 remote-read bodies at a byte a second into a promflux with
// the shipped defaults, more than its write.max_concurrency and
// read.max_concurrency, while a real Prometheus remote-writes through it.
// Prometheus is never refused (no sample failed or retried), its queue
// stays short, and every sample it scraped is in InfluxDB.
func TestSlowClientsDoNotStallPrometheus(t *testing.T) {
	influx := influxtest.Start(t)
	pf := startPromflux(t, influxConfig(influx.URL(), "slowclients"))
	stop := make(chan struct{})
	wg := trickleConns(t, pf.addr, "/api/v1/write", 64, stop)
	wg2 := trickleConns(t, pf.addr, "/api/v1/read", 64, stop)
	defer func() { close(stop); wg.Wait(); wg2.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); promMetric(t, pf.addr, "promflux_http_connections_open") < 128; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the 128 slow connections did not open within 10s")
		}
	}

	promAddr := freeAddr(t)
	startWritingPrometheus(t, promAddr, pf.addr, pf.addr)

	// Longer than write.max_wait (10s), after which a request that found
	// no decoding turn would be refused.
	maxPending := 0.0
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		maxPending = max(maxPending, promMetric(t, promAddr, "prometheus_remote_storage_samples_pending"))
	}
	until := time.Now()
	if failed := promMetric(t, promAddr, "prometheus_remote_storage_samples_failed_total"); failed != 0 {
		t.Errorf("Prometheus failed to send %.0f samples", failed)
	}
	if retried := promMetric(t, promAddr, "prometheus_remote_storage_samples_retried_total"); retried != 0 {
		t.Errorf("Prometheus had to retry %.0f samples: promflux refused them while slow clients were connected", retried)
	}
	// A scrape of both targets is a few thousand samples, sent within
	// batch_send_deadline.
	if maxPending > 10000 {
		t.Errorf("Prometheus had up to %.0f samples pending: its queue did not drain", maxPending)
	}

	metrics := []string{"up", "scrape_duration_seconds", "prometheus_tsdb_head_series", "promflux_http_connections_open"}
	want, samples := waitNoLoss(t, promAddr, influx, "slowclients", metrics, until)
	if samples < 40 {
		t.Fatalf("Prometheus holds %d samples of %v: too few to compare", samples, metrics)
	}
	t.Logf("128 slow clients; Prometheus's pending samples peaked at %.0f; %d series, %d samples all in InfluxDB", maxPending, len(want), samples)
}
