package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/promflux/promflux/internal/oneline"
)

type costOptions struct {
	url        string
	pid        int
	influxd    string // binary: a fresh influxd for every measurement
	index      string // its index-version
	samples    int
	shards     int
	reqSamples int
	variants   []string
	runs       int
	warmup     bool
	settle     time.Duration
	idleCPU    float64
	csvPath    string
	fromCSV    string
	timeout    time.Duration
}

func (o *costOptions) validate() error {
	switch {
	case o.influxd == "" && (o.url == "" || o.pid <= 0):
		return errors.New("give --influxd, or --url and the --pid of its influxd")
	case o.influxd != "" && (o.url != "" || o.pid != 0):
		return errors.New("--influxd starts its own influxd: give no --url or --pid")
	case o.samples <= 0 || o.shards <= 0 || o.reqSamples <= 0 || o.runs <= 0:
		return errors.New("--samples, --shards, --request-samples and --runs must be > 0")
	}
	return nil
}

// costRun is the measurement of one variant in one run.
type costRun struct {
	variant string
	run     int
	points  int
	writes  int
	bytes   int     // sent, after gzip
	cpuAck  float64 // influxd's CPU seconds from the first write to the last answer
	cpuAll  float64 // the same until influxd was idle again after the last answer
	wall    float64 // seconds from the first write to the last answer
	// others is the CPU the rest of the machine (neither influxd nor this
	// process) used meanwhile, in cores: what the measurement competed with.
	others float64
	// alloc and mallocs are the bytes and objects influxd allocated, gcs
	// its garbage collections, until it was idle: the work of the variant
	// without the machine's noise (from its /debug/vars; 0 when unknown).
	alloc, mallocs, gcs float64
	// err is why the run failed, "" when it did not.
	err string
}

// costRunner writes the same lines into a fresh database of one influxd
// for each variant and measures influxd's CPU time.
type costRunner struct {
	o      *costOptions
	client *http.Client
	lines  *lineStream
	// url and pid are the influxd's being measured.
	url string
	pid int
}

func runInfluxCost(g *generator, o *costOptions) error {
	if o.fromCSV != "" {
		variants, runs, err := readCostCSV(o.fromCSV)
		if err != nil {
			return err
		}
		fmt.Printf("# influx-cost: %s; medians (min-max); vs %s: median of the runs' ratios\n", o.fromCSV, variants[0].name)
		fmt.Print(costTable(variants, runs))
		return nil
	}
	if err := g.validate(); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	if len(o.variants) == 0 {
		o.variants = defaultCostVariants
	}
	variants := make([]costVariant, 0, len(o.variants))
	for _, spec := range splitVariants(o.variants) {
		v, err := parseCostVariant(spec)
		if err != nil {
			return err
		}
		variants = append(variants, v)
	}
	if o.influxd == "" {
		if _, err := cpuSeconds(o.pid); err != nil {
			return err
		}
	}
	t := time.Now()
	lines, err := buildStream(g, o.samples, o.shards, o.reqSamples)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "influx-cost: %d points of %d series (%d MiB of line protocol, %.0f bytes a line) encoded in %v\n",
		lines.len(), g.series, len(lines.buf)>>20, float64(len(lines.buf))/float64(lines.len()), time.Since(t).Round(time.Millisecond))
	r := &costRunner{
		o:     o,
		url:   strings.TrimSuffix(o.url, "/"),
		pid:   o.pid,
		lines: lines,
		client: &http.Client{Timeout: o.timeout, Transport: &http.Transport{
			MaxIdleConnsPerHost: 64,
			DisableCompression:  true,
		}},
	}
	if o.warmup && o.influxd == "" {
		// influxd's first writes after its start cost more (its heap
		// grows, its caches fill): not the first variant's to pay.
		if err := r.warm(&variants[0], lines.len()); err != nil {
			return err
		}
	}
	var runs []costRun
	for run := 1; run <= o.runs; run++ {
		for _, k := range runOrder(len(variants), run) {
			cr, err := r.measureFresh(&variants[k], run, k)
			if err != nil {
				// One failure (InfluxDB's write timeout on a slow
				// machine, say) does not spoil the other runs.
				fmt.Fprintf(os.Stderr, "run %d %-24s failed: %v\n", run, variants[k].name, err)
				cr = costRun{variant: variants[k].name, run: run, err: oneline.Of(err.Error())}
			} else {
				fmt.Fprintf(os.Stderr, "run %d %-24s %d writes of %.0f lines: influxd %.2f s CPU (%.2f s until idle), %.2f s wall, %.2f s CPU per M points; other processes %.2f cores\n",
					run, cr.variant, cr.writes, float64(cr.points)/float64(cr.writes), cr.cpuAck, cr.cpuAll, cr.wall, cr.cpuAck/float64(cr.points)*1e6, cr.others)
			}
			runs = append(runs, cr)
			if o.csvPath != "" {
				if err := appendCostCSV(o.csvPath, cr); err != nil {
					return err
				}
			}
		}
	}
	fmt.Printf("# influx-cost: %d series x %d samples = %d points, %.0f bytes a line; %d runs, interleaved (in reverse order in even runs); medians (min-max); vs %s: median of the runs' ratios\n",
		g.series, o.samples, lines.len(), float64(len(lines.buf))/float64(lines.len()), o.runs, variants[0].name)
	fmt.Print(costTable(variants, runs))
	return nil
}

// runOrder is the order of the variants in run number run (from 1): as
// given in odd runs, reversed in even ones, so that no variant always comes
// first, or right after the same other.
func runOrder(n, run int) []int {
	order := make([]int, n)
	for k := range order {
		order[k] = k
		if run%2 == 0 {
			order[k] = n - 1 - k
		}
	}
	return order
}

// splitVariants splits the specs given as "a;b" into one each.
func splitVariants(specs []string) []string {
	var out []string
	for _, s := range specs {
		for _, f := range strings.Split(s, ";") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// measureFresh measures v with --influxd in a new influxd, warmed up with
// a quarter of the lines written as the baseline, and else in the one of
// --url.
func (r *costRunner) measureFresh(v *costVariant, run, k int) (costRun, error) {
	if r.o.influxd == "" {
		return r.measure(v, run, k, r.lines.len())
	}
	p, err := startInfluxd(r.o.influxd, r.o.index)
	if err != nil {
		return costRun{}, err
	}
	defer p.stop()
	r.url, r.pid = p.url, p.pid
	if r.o.warmup {
		if err := r.warm(&baseCostVariant, r.lines.len()/4); err != nil {
			return costRun{}, fmt.Errorf("%w; influxd's log: %s", err, p.logTail())
		}
	}
	cr, err := r.measure(v, run, k, r.lines.len())
	if err != nil {
		return cr, fmt.Errorf("%w; influxd's log: %s", err, p.logTail())
	}
	return cr, nil
}

// warm writes the first n lines as v says, unmeasured, into a database
// that it drops.
func (r *costRunner) warm(v *costVariant, n int) error {
	cr, err := r.measure(v, 0, -1, n)
	if err != nil {
		return fmt.Errorf("warm-up with variant %s: %w", v.name, err)
	}
	if r.o.influxd == "" {
		fmt.Fprintf(os.Stderr, "warm-up %-20s influxd %.2f s CPU, %.2f s wall (not counted)\n", cr.variant, cr.cpuAck, cr.wall)
	}
	return nil
}

// measure writes the first n lines as v says into a new database and drops it.
// The bodies are built first; influxd must be idle before the first write.
func (r *costRunner) measure(v *costVariant, run, k, n int) (costRun, error) {
	bodies, size, points := r.bodies(v, n, uint64(run))
	defer runtime.GC()
	db := fmt.Sprintf("cost_%d_%d_%d", time.Now().Unix(), run, k)
	if k < 0 {
		db = fmt.Sprintf("cost_%d_warmup", time.Now().Unix())
	}
	if err := r.query("CREATE DATABASE " + db); err != nil {
		return costRun{}, err
	}
	defer func() { _ = r.query("DROP DATABASE " + db) }()
	if _, idle := r.waitIdle(); !idle {
		fmt.Fprintf(os.Stderr, "influx-cost: influxd still busy after %v before run %d of %s\n", r.o.settle, run, v.name)
	}
	u := r.url + "/write?" + url.Values{"db": {db}, "precision": {v.precision}}.Encode()

	cpu0, err := cpuSeconds(r.pid)
	if err != nil {
		return costRun{}, err
	}
	mem0, memErr := r.memstats()
	busy0, self0 := machineBusy(), selfCPU()
	t0 := time.Now()
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		werr    error
	)
	for range v.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return
				}
				if err := r.write(u, bodies[i], v.gzip); err != nil {
					errOnce.Do(func() { werr = err })
					next.Store(int64(len(bodies)))
					return
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0).Seconds()
	cpu1, err := cpuSeconds(r.pid)
	if err != nil {
		return costRun{}, err
	}
	others := (machineBusy() - busy0 - (selfCPU() - self0) - (cpu1 - cpu0)) / wall
	if werr != nil {
		return costRun{}, werr
	}
	cpu2, idle := r.waitIdle()
	if !idle {
		fmt.Fprintf(os.Stderr, "influx-cost: influxd still busy %v after run %d of %s\n", r.o.settle, run, v.name)
	}
	cr := costRun{
		variant: v.name, run: run, points: points, writes: len(bodies), bytes: size,
		cpuAck: cpu1 - cpu0, cpuAll: cpu2 - cpu0, wall: wall, others: max(others, 0),
	}
	if mem1, err := r.memstats(); err == nil && memErr == nil {
		cr.alloc, cr.mallocs, cr.gcs = mem1.TotalAlloc-mem0.TotalAlloc, mem1.Mallocs-mem0.Mallocs, mem1.NumGC-mem0.NumGC
	}
	return cr, nil
}

// bodies builds the request bodies of v for the batches that start among
// the first n lines, gzipped if v says so, their total size and lines.
func (r *costRunner) bodies(v *costVariant, n int, seed uint64) (bodies [][]byte, size, points int) {
	batches := cutBatches(r.lines, v.lines, v.maxBytes)
	for len(batches) > 0 && batches[len(batches)-1][0] >= n {
		batches = batches[:len(batches)-1]
	}
	rng := rand.New(rand.NewPCG(seed, 0x1f))
	bodies = make([][]byte, len(batches))
	var idx []int
	var zw *gzip.Writer
	for i, b := range batches {
		points += b[1] - b[0]
		var body []byte
		body, idx = appendBody(nil, r.lines, b[0], b[1], v, rng, idx)
		if v.gzip {
			// promflux's level (influxworker's gzipLevel).
			var buf bytes.Buffer
			if zw == nil {
				zw, _ = gzip.NewWriterLevel(&buf, 2)
			} else {
				zw.Reset(&buf)
			}
			_, _ = zw.Write(body) // into a bytes.Buffer: cannot fail
			zw.Close()
			body = buf.Bytes()
		}
		bodies[i] = body
		size += len(body)
	}
	debug.FreeOSMemory()
	return bodies, size, points
}

func (r *costRunner) write(u string, body []byte, gz bool) error {
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("write: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

func (r *costRunner) query(q string) error {
	resp, err := r.client.PostForm(r.url+"/query", url.Values{"q": {q}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK || bytes.Contains(msg, []byte(`"error"`)) {
		return fmt.Errorf("%s: %s: %s", q, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// machineBusy returns the CPU seconds all processors spent outside idle
// and iowait since boot, from /proc/stat; 0 when it cannot be read.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	return parseProcStatBusy(b)
}

// parseProcStatBusy sums the fields of the "cpu" line of /proc/stat but
// idle (4th) and iowait (5th), in seconds. Guest time is already in user
// and nice.
func parseProcStatBusy(b []byte) float64 {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) < 8 || string(f[0]) != "cpu" {
		return 0
	}
	var busy uint64
	for k, v := range f[1:min(len(f), 9)] {
		if k == 3 || k == 4 {
			continue
		}
		n, _ := strconv.ParseUint(string(v), 10, 64)
		busy += n
	}
	return float64(busy) / userHZ
}

// selfCPU returns this process's CPU seconds.
func selfCPU() float64 {
	c, _ := cpuSeconds(os.Getpid())
	return c
}

// influxMem is the part of Go's runtime.MemStats that influxd publishes in
// /debug/vars that bench uses.
type influxMem struct {
	TotalAlloc, Mallocs, NumGC float64
}

// memstats reads influxd's allocation counters from /debug/vars.
func (r *costRunner) memstats() (influxMem, error) {
	resp, err := r.client.Get(r.url + "/debug/vars")
	if err != nil {
		return influxMem{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return influxMem{}, fmt.Errorf("/debug/vars: %s", resp.Status)
	}
	var vars struct {
		Memstats *influxMem `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return influxMem{}, fmt.Errorf("/debug/vars: %w", err)
	}
	if vars.Memstats == nil {
		return influxMem{}, errors.New("/debug/vars: no memstats")
	}
	return *vars.Memstats, nil
}

// idleWindow is how long influxd must stay under --idle-cpu to count as
// idle.
const idleWindow = time.Second

// waitIdle waits until influxd used less than o.idleCPU of a core over
// idleWindow, at most o.settle, and returns its CPU seconds then.
func (r *costRunner) waitIdle() (cpu float64, idle bool) {
	const step = 250 * time.Millisecond
	window := int(idleWindow / step)
	var hist []float64
	deadline := time.Now().Add(r.o.settle)
	for {
		c, err := cpuSeconds(r.pid)
		if err != nil {
			return 0, false
		}
		hist = append(hist, c)
		if n := len(hist); n > window && hist[n-1]-hist[n-1-window] <= r.o.idleCPU*idleWindow.Seconds() {
			return c, true
		}
		if time.Now().After(deadline) {
			return c, false
		}
		time.Sleep(step)
	}
}

var costCSVHeader = []string{"variant", "run", "points", "writes", "bytes", "cpu_ack_s", "cpu_idle_s", "wall_s", "others_cores", "error", "alloc_bytes", "mallocs", "gcs"}

func appendCostCSV(path string, cr costRun) error {
	return appendRecords(path, costCSVHeader, [][]string{{cr.variant, strconv.Itoa(cr.run), strconv.Itoa(cr.points), strconv.Itoa(cr.writes), strconv.Itoa(cr.bytes),
		strconv.FormatFloat(cr.cpuAck, 'f', 2, 64), strconv.FormatFloat(cr.cpuAll, 'f', 2, 64), strconv.FormatFloat(cr.wall, 'f', 3, 64), strconv.FormatFloat(cr.others, 'f', 2, 64), cr.err,
		strconv.FormatFloat(cr.alloc, 'f', -1, 64), strconv.FormatFloat(cr.mallocs, 'f', -1, 64), strconv.FormatFloat(cr.gcs, 'f', -1, 64)}})
}

// readCostCSV reads the runs of --csv files and the variants they name, in
// the order they first appear.
func readCostCSV(path string) ([]costVariant, []costRun, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("%s: empty", path)
	}
	col := map[string]int{}
	for k, name := range recs[0] {
		col[name] = k
	}
	for _, name := range costCSVHeader[:8] {
		if _, ok := col[name]; !ok {
			return nil, nil, fmt.Errorf("%s: no column %q", path, name)
		}
	}
	var (
		variants []costVariant
		runs     []costRun
	)
	for line, rec := range recs[1:] {
		get := func(name string) string {
			if k, ok := col[name]; ok && k < len(rec) {
				return rec[k]
			}
			return ""
		}
		num := func(name string) float64 {
			v, perr := strconv.ParseFloat(get(name), 64)
			if perr != nil && err == nil && get("error") == "" {
				err = fmt.Errorf("%s:%d: %s: %w", path, line+2, name, perr)
			}
			return v
		}
		r := costRun{
			variant: get("variant"), run: int(num("run")), points: int(num("points")), writes: int(num("writes")), bytes: int(num("bytes")),
			cpuAck: num("cpu_ack_s"), cpuAll: num("cpu_idle_s"), wall: num("wall_s"), err: get("error"),
		}
		// Columns that older files lack.
		for name, dst := range map[string]*float64{"others_cores": &r.others, "alloc_bytes": &r.alloc, "mallocs": &r.mallocs, "gcs": &r.gcs} {
			if get(name) != "" {
				*dst = num(name)
			}
		}
		if err != nil {
			return nil, nil, err
		}
		if !slices.ContainsFunc(variants, func(v costVariant) bool { return v.name == r.variant }) {
			variants = append(variants, costVariant{name: r.variant})
		}
		runs = append(runs, r)
	}
	return variants, runs, nil
}

// costTable formats the runs as a Markdown table, one row per variant in
// the order given: median and range of influxd's CPU seconds per million
// points, at the last answer and once idle again, the median of the runs'
// ratios to the first variant's run of the same number (so that a drift
// of the machine between runs cancels), and wall time.
func costTable(variants []costVariant, runs []costRun) string {
	byVariant := map[string][]costRun{}
	failed := map[string]int{}
	for _, cr := range runs {
		if cr.err != "" {
			failed[cr.variant]++
			continue
		}
		byVariant[cr.variant] = append(byVariant[cr.variant], cr)
	}
	base := map[int]costRun{}
	for _, cr := range byVariant[variants[0].name] {
		base[cr.run] = cr
	}
	var sb strings.Builder
	sb.WriteString("| variant | lines/write | KiB/write | influxd CPU s per M points | vs " + variants[0].name + " | until idle | vs " + variants[0].name + " | allocated B/point | allocs/point | wall s | points/s |\n")
	sb.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, v := range variants {
		crs := byVariant[v.name]
		name := v.name
		if n := failed[v.name]; n > 0 {
			name = fmt.Sprintf("%s (%d of %d runs failed)", v.name, n, n+len(crs))
		}
		if len(crs) == 0 {
			if failed[v.name] > 0 {
				fmt.Fprintf(&sb, "| %s | | | | | | | | | | |\n", name)
			}
			continue
		}
		var ack, all, wall, pps, rAck, rAll, alloc, mallocs []float64
		for _, cr := range crs {
			m := float64(cr.points) / 1e6
			if cr.mallocs > 0 {
				alloc = append(alloc, cr.alloc/float64(cr.points))
				mallocs = append(mallocs, cr.mallocs/float64(cr.points))
			}
			ack = append(ack, cr.cpuAck/m)
			all = append(all, cr.cpuAll/m)
			wall = append(wall, cr.wall)
			pps = append(pps, float64(cr.points)/cr.wall)
			if b, ok := base[cr.run]; ok && b.cpuAck > 0 && b.cpuAll > 0 {
				rAck = append(rAck, cr.cpuAck/b.cpuAck)
				rAll = append(rAll, cr.cpuAll/b.cpuAll)
			}
		}
		cr := crs[0]
		allocs := ""
		if len(alloc) > 0 {
			allocs = fmt.Sprintf("%.0f | %.1f", median(alloc), median(mallocs))
		} else {
			allocs = " | "
		}
		fmt.Fprintf(&sb, "| %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %.0fk |\n",
			name, float64(cr.points)/float64(cr.writes), float64(cr.bytes)/float64(cr.writes)/1024,
			medianRange(ack, 2), ratio(rAck), medianRange(all, 2), ratio(rAll), allocs, medianRange(wall, 1), median(pps)/1e3)
	}
	return sb.String()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianRange formats "median (min-max)".
func medianRange(xs []float64, prec int) string {
	return fmt.Sprintf("%.*f (%.*f-%.*f)", prec, median(xs), prec, slices.Min(xs), prec, slices.Max(xs))
}

func ratio(rs []float64) string {
	if len(rs) == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", median(rs))
}

// influxdProc is a throwaway influxd on loopback ports, its data in a
// temporary directory.
type influxdProc struct {
	cmd  *exec.Cmd
	dir  string
	url  string
	pid  int
	done chan struct{}
}

// startInfluxd starts bin with a configuration of its own, listening on
// free 127.0.0.1 ports, and waits until it answers /ping.
func startInfluxd(bin, index string) (*influxdProc, error) {
	dir, err := os.MkdirTemp("", "promflux-influx-cost-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = "%[2]s/meta"
[data]
  dir = "%[2]s/data"
  wal-dir = "%[2]s/wal"
  index-version = "%[3]s"
  query-log-enabled = false
[coordinator]
  write-timeout = "60s"
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:%[4]d"
  log-enabled = false
`, ports[0], dir, index, ports[1])
	if err := os.WriteFile(filepath.Join(dir, "influxdb.conf"), []byte(conf), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "influxd.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-config", filepath.Join(dir, "influxdb.conf"))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should this process die without stopping it, the kernel does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &influxdProc{cmd: cmd, dir: dir, url: fmt.Sprintf("http://127.0.0.1:%d", ports[1]), pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-p.done:
			err := fmt.Errorf("influxd exited at start; its log: %s", p.logTail())
			p.stop()
			return nil, err
		default:
		}
		resp, err := client.Get(p.url + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return p, nil
			}
		}
	}
	err = fmt.Errorf("influxd did not answer /ping within 30s; its log: %s", p.logTail())
	p.stop()
	return nil, err
}

// stop ends influxd (SIGTERM, then SIGKILL after 10s) and removes its
// data.
func (p *influxdProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	os.RemoveAll(p.dir)
}

// logTail returns the last lines of influxd's log, on one line.
func (p *influxdProc) logTail() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "influxd.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

// freePorts returns n loopback ports that nothing listened on a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
