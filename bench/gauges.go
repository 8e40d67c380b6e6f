package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// gauge is one metric of a target's /metrics page that bench watches, and
// its column in the CSV files of bench watch and bench clients.
type gauge struct {
	metric string
	column string
	scale  float64 // column = metric / scale
}

// watchedGauges are the gauges of a promflux's resources: memory,
// goroutines, file descriptors and client connections.
var watchedGauges = []gauge{
	{"process_resident_memory_bytes", "rss_mib", 1 << 20},
	{"go_goroutines", "goroutines", 1},
	{"process_open_fds", "open_fds", 1},
	{"process_max_fds", "max_fds", 1},
	{"promflux_http_connections_open", "connections", 1},
}

// parseGauges returns the value of every sample of r, a page in
// Prometheus's text format, whose metric is in names and that has no
// labels. Metrics of names that are not on the page are absent from the
// result.
func parseGauges(r io.Reader, names []string) (map[string]float64, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]float64, len(names))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		// name value [timestamp]
		f := strings.Fields(line)
		if len(f) < 2 || !want[f[0]] {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("cannot parse %q: %w", line, err)
		}
		out[f[0]] = v
	}
	return out, sc.Err()
}

// gaugeWatch scrapes a target's /metrics page, keeping the first and the
// largest value of every watched gauge, and writes each scrape as a CSV
// row when it has a CSV writer. It is safe for concurrent use.
type gaugeWatch struct {
	url    string
	client *http.Client
	csv    *csv.Writer // nil: no CSV

	mu      sync.Mutex
	scrapes int
	failed  int
	lastErr error
	first   map[string]float64
	max     map[string]float64
}

// newGaugeWatch watches the /metrics page at url with a client of its own,
// so that its scrapes take one connection of the target.
func newGaugeWatch(url string, w io.Writer) *gaugeWatch {
	g := &gaugeWatch{
		url: url,
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1},
		},
		max: map[string]float64{},
	}
	if w != nil {
		g.csv = csv.NewWriter(w)
		head := []string{"time"}
		for _, m := range watchedGauges {
			head = append(head, m.column)
		}
		_ = g.csv.Write(head)
		g.csv.Flush()
	}
	return g
}

// scrape reads the page once.
func (g *gaugeWatch) scrape() error {
	now := time.Now()
	vals, err := g.get()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.scrapes++
	if err != nil {
		g.failed++
		g.lastErr = err
		return err
	}
	if g.first == nil {
		g.first = vals
	}
	row := []string{strconv.FormatFloat(float64(now.UnixMilli())/1000, 'f', 3, 64)}
	for _, m := range watchedGauges {
		v, ok := vals[m.metric]
		if ok {
			g.max[m.metric] = max(g.max[m.metric], v)
		}
		cell := ""
		switch {
		case ok && m.scale != 1:
			cell = strconv.FormatFloat(v/m.scale, 'f', 1, 64)
		case ok:
			cell = strconv.FormatFloat(v, 'f', -1, 64)
		}
		row = append(row, cell)
	}
	if g.csv != nil {
		_ = g.csv.Write(row)
		g.csv.Flush()
		return g.csv.Error()
	}
	return nil
}

func (g *gaugeWatch) get() (map[string]float64, error) {
	resp, err := g.client.Get(g.url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("GET %s: %s", g.url, resp.Status)
	}
	names := make([]string, len(watchedGauges))
	for i, m := range watchedGauges {
		names[i] = m.metric
	}
	return parseGauges(resp.Body, names)
}

// run scrapes every interval until stop is closed, and once more then.
func (g *gaugeWatch) run(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	_ = g.scrape()
	for {
		select {
		case <-stop:
			_ = g.scrape()
			return
		case <-t.C:
			_ = g.scrape()
		}
	}
}

// maxOf returns the largest value of metric seen, NaN when none was.
func (g *gaugeWatch) maxOf(metric string) float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if v, ok := g.max[metric]; ok {
		return v
	}
	return math.NaN()
}

// firstOf returns the value of metric at the first successful scrape, NaN
// when there was none or it lacked the metric.
func (g *gaugeWatch) firstOf(metric string) float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if v, ok := g.first[metric]; ok {
		return v
	}
	return math.NaN()
}

// watchOptions are the flags of bench watch.
type watchOptions struct {
	url      string
	every    time.Duration
	duration time.Duration
	csvPath  string
}

// runWatch scrapes the gauges of watchedGauges into a CSV file (stdout
// without --csv) every o.every, until o.duration has passed or it gets
// SIGINT or SIGTERM. It fails when no scrape succeeded.
func runWatch(o *watchOptions) error {
	if o.every <= 0 {
		return fmt.Errorf("--every must be > 0, got %v", o.every)
	}
	out := io.Writer(os.Stdout)
	if o.csvPath != "" {
		f, err := os.Create(o.csvPath)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	g := newGaugeWatch(o.url, out)
	stop := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		var deadline <-chan time.Time
		if o.duration > 0 {
			deadline = time.After(o.duration)
		}
		select {
		case <-sig:
		case <-deadline:
		}
		close(stop)
	}()
	g.run(o.every, stop)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed > 0 {
		fmt.Fprintf(os.Stderr, "bench watch: %d of %d scrapes of %s failed, the last: %v\n", g.failed, g.scrapes, o.url, g.lastErr)
	}
	if g.scrapes == g.failed {
		return errors.New("no scrape succeeded")
	}
	return nil
}
