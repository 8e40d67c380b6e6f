package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// clientsOptions are the flags of bench clients.
type clientsOptions struct {
	url              string // the target's root: http://host:port
	idle             int
	writers          int
	duration         time.Duration // of the writers
	idleHold         time.Duration // idle connections alone, before the writers
	idleRefresh      time.Duration
	healthEvery      time.Duration
	maxHealthLatency time.Duration
	sampleEvery      time.Duration
	batch            int
	bodies           int // requests per writer, sent over and over
	protocol         string
	timeout          time.Duration // of one write request
	csvPath          string        // the target's gauges at every scrape
}

func (o *clientsOptions) validate() error {
	switch {
	case o.idle < 0 || o.writers < 0:
		return errors.New("--idle and --writers must not be negative")
	case o.duration <= 0:
		return fmt.Errorf("--duration must be > 0, got %v", o.duration)
	case o.idleRefresh <= 0 || o.healthEvery <= 0 || o.sampleEvery <= 0:
		return errors.New("--idle-refresh, --health-every and --sample-every must be > 0")
	case o.batch <= 0:
		return fmt.Errorf("--batch must be > 0, got %d", o.batch)
	case o.bodies <= 0:
		return fmt.Errorf("--bodies must be > 0, got %d", o.bodies)
	}
	return nil
}

// clientsDialParallel is how many idle connections are opened at once: the
// listener's accept backlog (somaxconn, 4096 on current kernels) is never
// the limit.
const clientsDialParallel = 32

// clientsExchangeTimeout bounds one request on an idle connection, and a
// health probe.
const clientsExchangeTimeout = 10 * time.Second

// runClients holds o.idle idle keep-alive connections to the target, then
// adds o.writers concurrent remote-write senders for o.duration, while it
// probes GET /-/healthy every o.healthEvery from a process of its own
// (healthProbe) and scrapes the target's /metrics every o.sampleEvery. It
// prints what it saw to out, as text and as key=value lines, and fails
// when a probe failed or was slower than o.maxHealthLatency, a write got
// an answer other than 204, 503 or 429, an idle connection could not be
// opened or was closed by the target, or a scrape failed.
func runClients(g *generator, o *clientsOptions, out io.Writer) error {
	if err := g.validate(); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	u, err := url.Parse(strings.TrimSuffix(o.url, "/"))
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("--url must be http://host:port, got %q", o.url)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	nofile, err := raiseNoFile()
	if err != nil {
		return err
	}
	// Every connection is a descriptor here too, and the process has a few
	// of its own.
	if need := uint64(o.idle + o.writers + 64); nofile < need {
		return fmt.Errorf("this process may open %d files (RLIMIT_NOFILE, raised to its hard limit), it needs about %d", nofile, need)
	}
	rings := encodeRings(g, o)

	var csvOut io.Writer
	if o.csvPath != "" {
		f, err := os.Create(o.csvPath)
		if err != nil {
			return err
		}
		defer f.Close()
		csvOut = f
	}
	gauges := newGaugeWatch(u.String()+"/metrics", csvOut)
	// The target as it is before this run's connections.
	_ = gauges.scrape()
	probe, err := startHealthProbe(u.String()+"/-/healthy", o.healthEvery)
	if err != nil {
		return err
	}
	defer func() { _ = probe.stop() }() // on an error's way out; the run's own stop comes first
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); gauges.run(o.sampleEvery, stop) }()

	t0 := time.Now()
	idle := openIdle(addr, o.idle)
	fmt.Fprintf(os.Stderr, "clients: %d idle connections open (%d failed) in %v\n", idle.open(), idle.failedOpen, time.Since(t0).Round(time.Millisecond))
	bg.Add(1)
	go func() { defer bg.Done(); idle.keep(o.idleRefresh, stop) }()
	time.Sleep(o.idleHold)

	loadStart := time.Now()
	wr := runWriters(rings, o, u.String()+"/api/v1/write")
	close(stop)
	bg.Wait()
	if err := probe.stop(); err != nil {
		return err
	}
	probe.classify(loadStart, o.maxHealthLatency)
	// The idle connections must have lasted the whole run: one more
	// request on each.
	idle.refresh()

	return report(out, o, nofile, idle, wr, probe, gauges)
}

// raiseNoFile raises this process's soft limit of open files to its hard
// limit and returns it.
func raiseNoFile() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("cannot raise RLIMIT_NOFILE to %d: %w", lim.Max, err)
		}
	}
	return lim.Cur, nil
}

// idleConn is a keep-alive connection that sends a request now and then
// and otherwise stays silent.
type idleConn struct {
	c  net.Conn
	br *bufio.Reader
}

// exchange sends GET /-/healthy and reads the whole answer, which must be
// a 200 that keeps the connection open.
func (ic *idleConn) exchange(host string) error {
	if err := ic.c.SetDeadline(time.Now().Add(clientsExchangeTimeout)); err != nil {
		return err
	}
	if _, err := io.WriteString(ic.c, "GET /-/healthy HTTP/1.1\r\nHost: "+host+"\r\nUser-Agent: promflux-bench\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(ic.br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET /-/healthy: %s", resp.Status)
	case resp.Close:
		return errors.New("the target closes the connection after its answer")
	}
	return ic.c.SetDeadline(time.Time{})
}

// idleSet is the idle connections of a run.
type idleSet struct {
	addr       string
	mu         sync.Mutex
	conns      []*idleConn // nil once lost
	failedOpen int
	openErr    error // the first
	lost       int   // closed by the target, or broken, after they opened
	lostErr    error // the first
	requests   int   // answered 200
}

// openIdle opens n connections to addr, each of which sends one request.
func openIdle(addr string, n int) *idleSet {
	s := &idleSet{addr: addr}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, clientsDialParallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				c, err := net.DialTimeout("tcp", addr, clientsExchangeTimeout)
				var ic *idleConn
				if err == nil {
					ic = &idleConn{c: c, br: bufio.NewReaderSize(c, 4096)}
					if err = ic.exchange(addr); err != nil {
						c.Close()
					}
				}
				s.mu.Lock()
				if err != nil {
					s.failedOpen++
					s.openErr = firstError(s.openErr, err)
				} else {
					s.conns = append(s.conns, ic)
					s.requests++
				}
				s.mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return s
}

// firstError keeps the first error.
func firstError(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// open is the number of connections not lost.
func (s *idleSet) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.conns {
		if c != nil {
			n++
		}
	}
	return n
}

// refresh sends one request on every open connection, clientsDialParallel
// at a time; a connection whose request fails is closed and counted lost.
func (s *idleSet) refresh() {
	s.mu.Lock()
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	next := make(chan int)
	var wg sync.WaitGroup
	for range clientsDialParallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				err := conns[i].exchange(s.addr)
				s.mu.Lock()
				if err != nil {
					conns[i].c.Close()
					s.conns[i] = nil
					s.lost++
					s.lostErr = firstError(s.lostErr, err)
				} else {
					s.requests++
				}
				s.mu.Unlock()
			}
		}()
	}
	for i, c := range conns {
		if c != nil {
			next <- i
		}
	}
	close(next)
	wg.Wait()
}

// keep refreshes the connections every interval, before the target's idle
// timeout would close them, until stop is closed.
func (s *idleSet) keep(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.refresh()
		}
	}
}

// healthProbeCommand, as bench's first argument, runs it as the health
// probe of bench clients (runHealthProbe) instead of a command.
const healthProbeCommand = "clients-health-probe"

// healthProbe measures GET /-/healthy at a steady interval, one probe at a
// time on one connection, from a process of its own (bench run with
// healthProbeCommand): when the writers start, hundreds of their
// goroutines become runnable at once, and a probe in their process got
// answers up to 130 ms after the target had sent them, measuring this
// process rather than the target.
type healthProbe struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser // closed to stop the process
	first  chan struct{}  // closed once the first line is read, or done
	done   chan struct{}  // closed once every line of the process is read
	probes []probeResult
	// readErr is why the first unreadable line could not be read; waitErr
	// how the process ended; stopped is set by stop.
	readErr, waitErr error
	stopped          bool

	// Set by classify: the probes over its maxLatency sent after the
	// writers started; the latencies of the probes answered 200, sent
	// before the writers started (the idle connections alone), and after;
	// the probes that failed.
	slow             []slowProbe
	idleLat, loadLat []time.Duration
	failed           int
	failErr          error // the first
}

// probeResult is one probe of the health probe's process: when it was
// sent, how long its answer took, and why it failed ("" if it did not).
type probeResult struct {
	sent time.Time
	took time.Duration
	err  string
}

// startHealthProbe starts this program as the health probe of url, every
// interval, and reads what it measures until stop. It returns once the
// first probe was answered, or failed: the probe runs before anything is
// measured.
func startHealthProbe(url string, every time.Duration) (*healthProbe, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("health probe: %w", err)
	}
	cmd := exec.Command(exe, healthProbeCommand, url, every.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("health probe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("health probe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("health probe: %w", err)
	}
	p := &healthProbe{cmd: cmd, stdin: stdin, first: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		var once sync.Once
		defer once.Do(func() { close(p.first) })
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r, err := parseProbeLine(sc.Text())
			if err != nil {
				p.readErr = firstError(p.readErr, err)
				continue
			}
			p.probes = append(p.probes, r)
			once.Do(func() { close(p.first) })
		}
		p.readErr = firstError(p.readErr, sc.Err())
	}()
	<-p.first
	return p, nil
}

// stop ends the probe's process, after the probe under way, and waits for
// it and for its last line. It fails when the process did, or wrote a line
// that could not be read; calling it again returns the same.
func (p *healthProbe) stop() error {
	if !p.stopped {
		p.stopped = true
		p.stdin.Close()
		<-p.done
		p.waitErr = p.cmd.Wait()
	}
	if p.waitErr != nil {
		return fmt.Errorf("health probe process: %w", p.waitErr)
	}
	if p.readErr != nil {
		return fmt.Errorf("health probe process: %w", p.readErr)
	}
	return nil
}

// classify sorts the probes read by stop into those sent before loadStart
// and after, and the slow and the failed ones.
func (p *healthProbe) classify(loadStart time.Time, maxLatency time.Duration) {
	for _, r := range p.probes {
		switch {
		case r.err != "":
			p.failed++
			p.failErr = firstError(p.failErr, errors.New(r.err))
		case r.sent.Before(loadStart):
			p.idleLat = append(p.idleLat, r.took)
		default:
			p.loadLat = append(p.loadLat, r.took)
			if r.took > maxLatency {
				p.slow = append(p.slow, slowProbe{at: r.sent.Sub(loadStart), took: r.took})
			}
		}
	}
}

// runHealthProbe is the health probe's process: args are the URL and the
// interval. It probes at once, then every interval, one probe at a time on
// one keep-alive connection (a probe that takes longer delays the next
// one), until in ends, and writes a line per probe to out
// (formatProbeLine).
func runHealthProbe(args []string, in io.Reader, out io.Writer) error {
	if len(args) != 2 {
		return fmt.Errorf("%s: want the URL and the interval, got %q", healthProbeCommand, args)
	}
	url := args[0]
	every, err := time.ParseDuration(args[1])
	if err != nil || every <= 0 {
		return fmt.Errorf("%s: bad interval %q", healthProbeCommand, args[1])
	}
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, in)
		close(stop)
	}()
	client := &http.Client{Timeout: clientsExchangeTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		t0 := time.Now()
		err := probeHealth(client, url)
		r := probeResult{sent: t0, took: time.Since(t0)}
		if err != nil {
			r.err = err.Error()
		}
		if _, err := io.WriteString(out, formatProbeLine(r)); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
	}
}

// formatProbeLine writes r as a line: the send time in nanoseconds since
// the epoch, the latency in nanoseconds, and the error, quoted, or "-".
func formatProbeLine(r probeResult) string {
	msg := "-"
	if r.err != "" {
		msg = strconv.Quote(r.err)
	}
	return fmt.Sprintf("%d %d %s\n", r.sent.UnixNano(), r.took.Nanoseconds(), msg)
}

// parseProbeLine reads a line of formatProbeLine.
func parseProbeLine(line string) (probeResult, error) {
	f := strings.SplitN(line, " ", 3)
	if len(f) == 3 {
		sent, err1 := strconv.ParseInt(f[0], 10, 64)
		took, err2 := strconv.ParseInt(f[1], 10, 64)
		msg, err3 := "", error(nil)
		if f[2] != "-" {
			msg, err3 = strconv.Unquote(f[2])
		}
		if err1 == nil && err2 == nil && err3 == nil {
			return probeResult{sent: time.Unix(0, sent), took: time.Duration(took), err: msg}, nil
		}
	}
	return probeResult{}, fmt.Errorf("cannot read the line %q", line)
}

// probeHealth sends one GET to url and reads the whole answer, which must
// be a 200.
func probeHealth(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET /-/healthy: %s", resp.Status)
	}
	return err
}

// maxSlowListed is how many slow probes the report lists.
const maxSlowListed = 20

// slowProbe is a health probe that took too long: sent at (after the
// writers started), answered took later.
type slowProbe struct{ at, took time.Duration }

// writerStats is what the remote-write senders of bench clients saw.
type writerStats struct {
	seconds float64
	codes   map[int]int // by status code; 0: no answer
	samples int64       // acknowledged with 2xx
	maxBody int         // compressed bytes
	maxRaw  int         // bytes before compression
}

// acceptedWriteCode reports whether a remote-write answer is one the run
// allows: 204, or the documented backpressure (503, 429).
func acceptedWriteCode(code int) bool {
	return code == http.StatusNoContent || code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests
}

// runWriters runs a sender per ring of requests (encodeRings), each with a
// connection of its own, sending them over and over, one after the other
// as fast as they are answered, until o.duration has passed.
func runWriters(rings [][]request, o *clientsOptions, url string) *writerStats {
	st := &writerStats{codes: map[int]int{}}
	if len(rings) == 0 {
		time.Sleep(o.duration) // the idle connections alone
		st.seconds = o.duration.Seconds()
		return st
	}
	ctype, version := contentType(o.protocol)
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		requests atomic.Int64
		stop     = make(chan struct{})
		progDone = make(chan struct{})
	)
	begin := time.Now()
	deadline := begin.Add(o.duration)
	go func() {
		defer close(progDone)
		progress(stop, func() string {
			return fmt.Sprintf("clients: %d writers, %.0fs, %d requests", o.writers, time.Since(begin).Seconds(), requests.Load())
		})
	}()
	for _, ring := range rings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{
				Timeout:   o.timeout,
				Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true},
			}
			defer client.CloseIdleConnections()
			codes := map[int]int{}
			var samples int64
			maxBody, maxRaw := 0, 0
			for i := 0; time.Now().Before(deadline); i++ {
				r := ring[i%len(ring)]
				maxBody, maxRaw = max(maxBody, len(r.body)), max(maxRaw, r.raw)
				code := postCode(client, url, ctype, version, r.body)
				requests.Add(1)
				codes[code]++
				if code/100 == 2 {
					samples += int64(r.samples)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for c, n := range codes {
				st.codes[c] += n
			}
			st.samples += samples
			st.maxBody, st.maxRaw = max(st.maxBody, maxBody), max(st.maxRaw, maxRaw)
		}()
	}
	wg.Wait()
	st.seconds = time.Since(begin).Seconds()
	close(stop)
	<-progDone
	return st
}

// encodeRings splits the generator's series into o.writers shards and
// encodes, in parallel, o.bodies requests of each: the ring its writer
// sends over and over. It runs before anything is measured, so that this
// process then spends its CPU sending, not encoding, and its health probe
// measures the target rather than this process.
func encodeRings(g *generator, o *clientsOptions) [][]request {
	if o.writers == 0 {
		return nil
	}
	labels := make([][]prompb.Label, g.series)
	for i := range labels {
		labels[i] = g.labelSet(i)
	}
	shards := newShards(g.series, o.writers, 0, -1)
	rings := make([][]request, len(shards))
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := newEncoder(g, labels, o.batch, o.protocol)
			for i := int(next.Add(1) - 1); i < len(shards); i = int(next.Add(1) - 1) {
				for range o.bodies {
					r, ok := enc.next(shards[i])
					if !ok {
						break
					}
					rings[i] = append(rings[i], r)
				}
			}
		}()
	}
	wg.Wait()
	return slices.DeleteFunc(rings, func(r []request) bool { return len(r) == 0 })
}

// report prints the run's figures, as text and then as key=value lines,
// and returns an error naming every check that failed.
func report(w io.Writer, o *clientsOptions, nofile uint64, idle *idleSet, wr *writerStats, probe *healthProbe, gauges *gaugeWatch) error {
	var failures []string
	fail := func(format string, args ...any) { failures = append(failures, fmt.Sprintf(format, args...)) }

	open := idle.open()
	fmt.Fprintf(w, "# bench clients: %d idle connections, then %d writers for %v; this process may open %d files\n", o.idle, o.writers, o.duration, nofile)
	fmt.Fprintf(w, "idle connections: %d of %d opened, %d still open at the end (%d requests answered 200)\n", len(idle.conns), o.idle, open, idle.requests)
	if idle.failedOpen > 0 {
		fail("%d idle connections could not be opened, the first: %v", idle.failedOpen, idle.openErr)
	}
	if idle.lost > 0 {
		fail("%d idle connections were closed or broken, the first: %v", idle.lost, idle.lostErr)
	}

	total, other := 0, 0
	for c, n := range wr.codes {
		total += n
		if !acceptedWriteCode(c) {
			other += n
		}
	}
	fmt.Fprintf(w, "writes: %d requests in %.1fs, %s; %d samples acknowledged (%.0f/s); bodies up to %d bytes (%d decoded)\n",
		total, wr.seconds, formatCodes(wr.codes), wr.samples, float64(wr.samples)/max(wr.seconds, 1e-9), wr.maxBody, wr.maxRaw)
	if other > 0 {
		fail("%d writes were answered other than 204, 503 or 429 (%s; 0: no answer)", other, formatCodes(wr.codes))
	}

	lat := slices.Sorted(slices.Values(append(slices.Clone(probe.idleLat), probe.loadLat...)))
	over := 0
	for _, d := range lat {
		if d > o.maxHealthLatency {
			over++
		}
	}
	maxLat := percentile(lat, 1)
	fmt.Fprintf(w, "/-/healthy: %d probes, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d over %v, %d failed\n",
		len(lat)+probe.failed, millis(percentile(lat, 0.5)), millis(percentile(lat, 0.99)), millis(maxLat), over, o.maxHealthLatency, probe.failed)
	for _, ph := range []struct {
		name string
		lat  []time.Duration
	}{{"idle connections alone", probe.idleLat}, {"with the writers", probe.loadLat}} {
		l := slices.Sorted(slices.Values(ph.lat))
		fmt.Fprintf(w, "  %s: %d answered, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", ph.name, len(l),
			millis(percentile(l, 0.5)), millis(percentile(l, 0.99)), millis(percentile(l, 1)))
	}
	if probe.failed > 0 {
		fail("%d health probes failed, the first: %v", probe.failed, probe.failErr)
	}
	if len(probe.slow) > 0 {
		fmt.Fprintf(w, "  over %v, sent after the writers started:", o.maxHealthLatency)
		for i, sp := range probe.slow {
			if i == maxSlowListed {
				fmt.Fprintf(w, " and %d more", len(probe.slow)-i)
				break
			}
			fmt.Fprintf(w, " %.1fs (%.0f ms)", sp.at.Seconds(), millis(sp.took))
		}
		fmt.Fprintln(w)
	}
	if over > 0 {
		fail("%d health probes took longer than %v (max %v)", over, o.maxHealthLatency, maxLat.Round(time.Millisecond))
	}
	if len(lat)+probe.failed == 0 {
		fail("no health probe ran")
	}

	gauges.mu.Lock()
	scrapes, scrapeFailed, scrapeErr := gauges.scrapes, gauges.failed, gauges.lastErr
	gauges.mu.Unlock()
	fmt.Fprintf(w, "target, at the start and at most (%d scrapes, %d failed):", scrapes, scrapeFailed)
	for _, m := range watchedGauges {
		prec := 0
		if m.scale != 1 {
			prec = 1
		}
		fmt.Fprintf(w, " %s %.*f / %.*f", m.column, prec, gauges.firstOf(m.metric)/m.scale, prec, gauges.maxOf(m.metric)/m.scale)
	}
	fmt.Fprintln(w)
	if scrapeFailed > 0 {
		fail("%d scrapes of /metrics failed, the last: %v", scrapeFailed, scrapeErr)
	}

	kv := func(k string, v any) { fmt.Fprintf(w, "%s=%v\n", k, v) }
	kv("idle_requested", o.idle)
	kv("idle_opened", len(idle.conns))
	kv("idle_open_at_end", open)
	kv("writers", o.writers)
	kv("write_requests", total)
	for _, c := range []int{204, 503, 429} {
		kv("write_"+strconv.Itoa(c), wr.codes[c])
	}
	kv("write_other", other)
	kv("write_samples_acked", wr.samples)
	kv("write_body_max_bytes", wr.maxBody)
	kv("write_decoded_max_bytes", wr.maxRaw)
	kv("health_probes", len(lat)+probe.failed)
	kv("health_failed", probe.failed)
	kv("health_p50_ms", fmt.Sprintf("%.2f", millis(percentile(lat, 0.5))))
	kv("health_p99_ms", fmt.Sprintf("%.2f", millis(percentile(lat, 0.99))))
	kv("health_max_ms", fmt.Sprintf("%.2f", millis(maxLat)))
	kv("health_over", over)
	for _, ph := range []struct {
		name string
		lat  []time.Duration
	}{{"idle", probe.idleLat}, {"load", probe.loadLat}} {
		l := slices.Sorted(slices.Values(ph.lat))
		kv("health_"+ph.name+"_p99_ms", fmt.Sprintf("%.2f", millis(percentile(l, 0.99))))
		kv("health_"+ph.name+"_max_ms", fmt.Sprintf("%.2f", millis(percentile(l, 1))))
	}
	for _, m := range watchedGauges {
		kv("start_"+m.metric, fmtGauge(gauges.firstOf(m.metric)))
		kv("max_"+m.metric, fmtGauge(gauges.maxOf(m.metric)))
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

// formatCodes writes status counts as "204=10 503=2", in order of code.
func formatCodes(codes map[int]int) string {
	m := make(map[string]int, len(codes))
	for c, n := range codes {
		m[fmt.Sprintf("%03d", c)] = n
	}
	if len(m) == 0 {
		return "none"
	}
	return formatPairs(m, strconv.Itoa)
}

// fmtGauge formats a gauge's value without exponent, "NaN" when unknown.
func fmtGauge(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
