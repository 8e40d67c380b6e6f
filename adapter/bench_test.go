package adapter

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/remote"
)

const (
	// pipelineSamples is Prometheus's default max_samples_per_send.
	pipelineSamples = 2000
	// shards is how many requests per core are sent at once, as a
	// Prometheus server's remote-write shards do.
	shards = 4
)

// nodeSeries returns n label sets shaped like node_exporter's CPU series as
// a Prometheus server relabels them, with one sample each.
func nodeSeries(n int) []prompb.TimeSeries {
	modes := []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}
	out := make([]prompb.TimeSeries, n)
	for i := range out {
		out[i] = prompb.TimeSeries{
			Labels: []prompb.Label{
				{Name: "__name__", Value: "node_cpu_seconds_total"},
				{Name: "cpu", Value: fmt.Sprint(i / len(modes) % 64)},
				{Name: "instance", Value: fmt.Sprintf("node-%03d.dc1.example.com:9100", i/(64*len(modes)))},
				{Name: "job", Value: "node"},
				{Name: "mode", Value: modes[i%len(modes)]},
				{Name: "region", Value: "eu-west-1"},
			},
			Samples: []prompb.Sample{{Value: float64(i) * 1.5, Timestamp: 1700000000000 + int64(i)}},
		}
	}
	return out
}

// countingSink is a fake InfluxDB for benchmarks: it counts the lines of
// each /write at memory speed, through a reused buffer, and the gzipped
// bodies, and stores nothing. It sends InfluxDB's version header, without
// which the pool never gzips.
func countingSink(b *testing.B) (srv *httptest.Server, lines, gzipped *atomic.Int64) {
	lines, gzipped = new(atomic.Int64), new(atomic.Int64)
	bufs := sync.Pool{New: func() any { return new([64 << 10]byte) }}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Influxdb-Version", "fake-sink")
		if r.URL.Path == "/write" {
			var rd io.Reader = r.Body
			if r.Header.Get("Content-Encoding") == "gzip" {
				gzipped.Add(1)
				zr, err := gzip.NewReader(r.Body)
				if err != nil {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				rd = zr
			}
			buf := bufs.Get().(*[64 << 10]byte)
			defer bufs.Put(buf)
			for {
				n, err := rd.Read(buf[:])
				lines.Add(int64(bytes.Count(buf[:n], []byte{'\n'})))
				if err == io.EOF {
					break
				}
				if err != nil {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	return srv, lines, gzipped
}

// BenchmarkWritePipeline measures a remote-write request of 2000 samples
// through the whole write path (decode, route, encode, into a fake sink over
// loopback HTTP), next to decoding alone over the same payload, and to
// decoding, routing and encoding without HTTP: the ratios of their
// samples/s, from one run, are the cost of each part over the decode limit.
// Requests run in parallel, shards per core, as Prometheus's shards send
// them.
func BenchmarkWritePipeline(b *testing.B) {
	body := writeV1Body(b, nodeSeries(pipelineSamples)...)

	b.Run("decode-only", func(b *testing.B) {
		decodeParallel(b, body, func() (remote.SeriesHandler, func(*remote.WriteRequest)) {
			return discardSeries{}, func(*remote.WriteRequest) {}
		})
	})

	b.Run("decode-encode", func(b *testing.B) {
		sink, _, _ := countingSink(b)
		srv := benchServer(b, sink.URL, "")
		st := srv.state.Load()
		decodeParallel(b, body, func() (remote.SeriesHandler, func(*remote.WriteRequest)) {
			e := newEncoder(srv, st, "", &writeOutcome{})
			return e, func(req *remote.WriteRequest) {
				for _, dw := range e.finish(req.Metadata) {
					releaseDBWrite(dw)
				}
				e.release()
			}
		})
	})

	// The sink listens on loopback, where the pool's gzip is off unless
	// the configuration turns it on.
	for _, gzip := range []bool{false, true} {
		name := "pipeline-plain"
		if gzip {
			name = "pipeline-gzip"
		}
		b.Run(name, func(b *testing.B) {
			sink, lines, gzipped := countingSink(b)
			h := benchServer(b, sink.URL, fmt.Sprintf("    pool: {gzip: %t}\n", gzip)).Handler()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			b.SetParallelism(shards)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := benchRequest(body)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusNoContent {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
			b.StopTimer()
			if got, want := lines.Load(), int64(b.N)*pipelineSamples; got < want {
				b.Fatalf("sink received %d lines, want at least %d", got, want)
			}
			if got := gzipped.Load(); (got > 0) != gzip {
				b.Fatalf("sink received %d gzipped bodies with pool.gzip %t", got, gzip)
			}
			reportPerSample(b)
		})
	}
}

// discardSeries takes series and does nothing with them.
type discardSeries struct{}

func (discardSeries) Series(*remote.Series) error { return nil }

// decodeParallel decodes body in parallel, shards per core, as the write
// handler does: for each request, start gives the handler of its series
// and the function the decoded request goes to, before it is released.
func decodeParallel(b *testing.B, body []byte, start func() (remote.SeriesHandler, func(*remote.WriteRequest))) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.SetParallelism(shards)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			wb, err := remote.ReadWriteBody(benchRequest(body), remote.DefaultConfig)
			if err != nil {
				b.Fatal(err)
			}
			h, done := start()
			req, err := wb.Decode(h)
			if err != nil {
				b.Fatal(err)
			}
			done(req)
			req.Release()
			wb.Release()
		}
	})
	reportPerSample(b)
}

// benchRequest is a remote-write request of the RW 1.0 body.
func benchRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentTypeV1)
	r.Header.Set("Content-Encoding", "snappy")
	return r
}

// benchServer is a promflux server with one database at sinkURL, whose
// configuration ends with the lines of dbConfig.
func benchServer(b *testing.B, sinkURL, dbConfig string) *Server {
	path := filepath.Join(b.TempDir(), "promflux.yml")
	config := fmt.Sprintf("databases:\n  - name: default\n    url: %s\n    database: bench\n%s", sinkURL, dbConfig)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	srv, err := New(path, log.NewNopLogger(), prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	return srv
}

// reportPerSample adds samples/s next to the time per request.
func reportPerSample(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)*pipelineSamples/s, "samples/s")
	}
}
