package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/prometheus/prompb"
)

type writeOptions struct {
	url         string
	samples     int           // per series and concurrency step; used when duration is 0
	duration    time.Duration // per concurrency step
	warmup      time.Duration
	batch       int
	concurrency []int
	protocol    string
	label       string
	procs       procFlags
	csvPath     string
	svgPath     string
	maxErrors   float64 // fraction of requests that may fail
	dryRun      bool
	precompute  units.Base2Bytes
	timeout     time.Duration
	rate        float64 // samples per second in all senders; 0: as fast as answered
}

func (o *writeOptions) validate() error {
	switch {
	case o.duration == 0 && o.samples <= 0:
		return fmt.Errorf("--samples must be > 0 when --duration is not set, got %d", o.samples)
	case o.duration < 0 || o.warmup < 0:
		return errors.New("--duration and --warmup must not be negative")
	case o.batch <= 0:
		return fmt.Errorf("--batch must be > 0, got %d", o.batch)
	case o.rate < 0:
		return fmt.Errorf("--rate must not be negative, got %g", o.rate)
	case o.maxErrors < 0 || o.maxErrors > 1:
		return fmt.Errorf("--max-error-ratio must be between 0 and 1, got %g", o.maxErrors)
	case o.url == "" && !o.dryRun:
		return errors.New("--url is required unless --dry-run")
	}
	return nil
}

// writer runs the concurrency steps of one bench write against one target.
type writer struct {
	g      *generator
	o      *writeOptions
	labels [][]prompb.Label
	client *http.Client
	// round is the first round no step has sent yet: each step, warm-up
	// included, starts there, so that the target never sees a timestamp
	// twice for a series, nor one older than the last it saw.
	round int
}

func runWrite(g *generator, o *writeOptions) error {
	if err := g.validate(); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	pids, names, err := o.procs.resolve()
	if err != nil {
		return err
	}
	if o.label == "" {
		o.label = o.url
		if o.dryRun {
			o.label = "generator"
		}
	}
	w := &writer{g: g, o: o, labels: make([][]prompb.Label, g.series)}
	for i := range w.labels {
		w.labels[i] = g.labelSet(i)
	}
	w.client = &http.Client{
		Timeout: o.timeout,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: slices.Max(o.concurrency),
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}

	var rows []result
	requests, failed := 0, 0
	for _, c := range o.concurrency {
		r, n, err := w.step(c, pids, names)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		requests += n
		failed += r.errorCount()
	}
	printTable(os.Stdout, rows)
	if o.csvPath != "" {
		if err := appendCSV(o.csvPath, rows); err != nil {
			return err
		}
		if o.svgPath != "" {
			if err := writeSVGFile(o.svgPath, o.csvPath); err != nil {
				return err
			}
		}
	} else if o.svgPath != "" {
		f, err := os.Create(o.svgPath)
		if err != nil {
			return err
		}
		if err := writeSVG(f, rows, "remote-write throughput by concurrency"); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if requests > 0 && float64(failed)/float64(requests) > o.maxErrors {
		return fmt.Errorf("%d of %d requests failed, more than --max-error-ratio=%g", failed, requests, o.maxErrors)
	}
	return nil
}

// step measures one concurrency: a warm-up, whose rate sizes the
// precomputed requests, then the measurement proper. It returns the result
// and the number of requests sent.
func (w *writer) step(c int, pids []int, names []string) (result, int, error) {
	o := w.o
	name := fmt.Sprintf("%s c=%d", o.label, c)
	warmRate := 0.0
	if o.warmup > 0 {
		shards := newShards(w.g.series, c, w.round, -1)
		st := w.send(name+" warm-up", shards, nil, time.Now().Add(o.warmup))
		w.round = nextRound(shards)
		warmRate = float64(st.samples.Load()) / st.seconds
	}

	end := -1
	budget := 0 // samples to precompute
	if o.duration == 0 {
		end = w.round + o.samples
		budget = w.g.series * o.samples
	} else {
		// Twice the warm-up's rate: the warm-up encodes as it sends, so
		// the measurement can be faster.
		budget = int(2 * warmRate * o.duration.Seconds())
	}
	shards := newShards(w.g.series, c, w.round, end)
	var queues [][]request
	// Paced senders have the time to encode between requests.
	if !o.dryRun && budget > 0 && o.rate == 0 {
		t0 := time.Now()
		var n, size int
		queues, n, size = w.precompute(shards, budget)
		fmt.Fprintf(os.Stderr, "%s: precomputed %d requests (%d samples, %.1f MiB) in %v\n",
			name, n, min(budget, n*o.batch), float64(size)/(1<<20), time.Since(t0).Round(time.Millisecond))
	}

	ws, err := watchProcs(pids, names)
	if err != nil {
		return result{}, 0, err
	}
	var deadline time.Time
	if o.duration > 0 {
		deadline = time.Now().Add(o.duration)
	}
	st := w.send(name, shards, queues, deadline)
	usage, err := ws.finish()
	if err != nil {
		return result{}, 0, err
	}
	w.round = nextRound(shards)
	if st.onTheFly > 0 && !o.dryRun {
		fmt.Fprintf(os.Stderr, "%s: %d of %d requests were encoded while measuring (more than precomputed)\n", name, st.onTheFly, len(st.latencies))
	}

	slices.Sort(st.latencies)
	return result{
		Target:      o.label,
		Protocol:    o.protocol,
		Concurrency: c,
		Samples:     st.samples.Load(),
		Seconds:     st.seconds,
		SamplesPerS: float64(st.samples.Load()) / st.seconds,
		RequestsPS:  float64(len(st.latencies)) / st.seconds,
		P50ms:       millis(percentile(st.latencies, 0.5)),
		P99ms:       millis(percentile(st.latencies, 0.99)),
		Errors:      st.errors,
		Procs:       usage,
	}, len(st.latencies), nil
}

// nextRound is the first round that no shard has taken a sample of.
func nextRound(shards []*shard) int {
	n := 0
	for _, s := range shards {
		n = max(n, s.nextRound())
	}
	return n
}

// precompute encodes up to budget samples of requests per shard, in
// parallel, stopping at o.precompute bytes in all. It advances the shards
// past what it encoded.
func (w *writer) precompute(shards []*shard, budget int) (queues [][]request, n, size int) {
	queues = make([][]request, len(shards))
	perShard := budget/len(shards) + 1
	bytesPerShard := int(w.o.precompute) / len(shards)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	var total atomic.Int64
	for k, sh := range shards {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			enc := newEncoder(w.g, w.labels, w.o.batch, w.o.protocol)
			samples, bytes := 0, 0
			for samples < perShard && bytes < bytesPerShard {
				r, ok := enc.next(sh)
				if !ok {
					break
				}
				queues[k] = append(queues[k], r)
				samples += r.samples
				bytes += len(r.body)
			}
			total.Add(int64(bytes))
		}()
	}
	wg.Wait()
	for _, q := range queues {
		n += len(q)
	}
	return queues, n, int(total.Load())
}

// stepStats is what the senders of one step observed.
type stepStats struct {
	samples   atomic.Int64 // acknowledged with 2xx
	seconds   float64
	latencies []time.Duration
	errors    map[string]int
	onTheFly  int64 // requests encoded while sending
}

// send runs one sender per shard, each sending its shard's requests one
// after the other, as a Prometheus shard does: first those of its queue,
// then encoded on the fly, until the shard is done or the deadline passed
// (zero: none), at --rate samples per second in all when it is set. With
// --dry-run the requests are encoded and not sent.
func (w *writer) send(name string, shards []*shard, queues [][]request, deadline time.Time) *stepStats {
	st := &stepStats{errors: map[string]int{}}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		failed   atomic.Int64
		begin    = time.Now()
		stop     = make(chan struct{})
		progDone = make(chan struct{})
	)
	go func() {
		defer close(progDone)
		progress(stop, func() string {
			s := st.samples.Load()
			return fmt.Sprintf("%s: %.0fs, %d samples, %.0f samples/s, %d errors", name, time.Since(begin).Seconds(), s, float64(s)/time.Since(begin).Seconds(), failed.Load())
		})
	}()
	ctype, version := contentType(w.o.protocol)
	pace := newPacer(w.o.rate) // each step at the rate from its start
	for k, sh := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := newEncoder(w.g, w.labels, w.o.batch, w.o.protocol)
			var (
				lat      []time.Duration
				errs     = map[string]int{}
				onTheFly int64
			)
			for i := 0; ; i++ {
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					break
				}
				var r request
				if queues != nil && i < len(queues[k]) {
					// Drop the queue's reference: a sent body is garbage.
					r, queues[k][i] = queues[k][i], request{}
				} else {
					var ok bool
					if r, ok = enc.next(sh); !ok {
						break
					}
					onTheFly++
				}
				if !pace.wait(r.samples, deadline) {
					break
				}
				if w.o.dryRun {
					st.samples.Add(int64(r.samples))
					lat = append(lat, 0)
					continue
				}
				t0 := time.Now()
				status := post(w.client, w.o.url, ctype, version, r.body)
				lat = append(lat, time.Since(t0))
				if status == "" {
					st.samples.Add(int64(r.samples))
				} else {
					errs[status]++
					failed.Add(1)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			st.latencies = append(st.latencies, lat...)
			for s, n := range errs {
				st.errors[s] += n
			}
			st.onTheFly += onTheFly
		}()
	}
	wg.Wait()
	st.seconds = time.Since(begin).Seconds()
	close(stop)
	<-progDone
	return st
}

// post sends one remote-write request and returns "" on a 2xx answer, else
// the status code, or "transport" when no answer came.
func post(client *http.Client, url, contentType, version string, body []byte) string {
	code := postCode(client, url, contentType, version, body)
	switch {
	case code == 0:
		return "transport"
	case code/100 == 2:
		return ""
	}
	return strconv.Itoa(code)
}

// postCode sends one remote-write request and returns the status code of
// the answer, 0 when none came.
func postCode(client *http.Client, url, contentType, version string, body []byte) int {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", version)
	req.Header.Set("User-Agent", "promflux-bench")
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	// Read the answer to the end so that the connection is reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
