package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

func main() {
	runAsHealthProbe()
	app := kingpin.New("bench", "Load generator and benchmark for Prometheus remote-write and remote-read receivers, and a fake InfluxDB that counts what it is sent.")
	app.HelpFlag.Short('h')

	var g generator
	genFlags := func(cmd *kingpin.CmdClause) {
		cmd.Flag("series", "Number of series.").Default("1000").IntVar(&g.series)
		cmd.Flag("labels", fmt.Sprintf("Labels per series, __name__ included (%d to %d): node_exporter's own, padded with target labels (env, region, cluster, ...). 0: each metric's own set, 3 to %d.", minLabels, maxLabels, minLabels)).Default("0").IntVar(&g.labels)
		cmd.Flag("extra-labels", "Labels per series beyond the node_exporter-like ones; an alternative to --labels.").Default("0").IntVar(&g.labelsExtra)
		cmd.Flag("start", "Timestamp of the first sample, ms since the epoch.").Default("1700000000000").Int64Var(&g.start)
		cmd.Flag("interval", "Milliseconds between the samples of a series.").Default("15000").Int64Var(&g.interval)
		cmd.Flag("fleet", fmt.Sprintf("Generate the series of this many node_exporter hosts instead of --series: per host, node_cpu_seconds_total of 8 CPUs in 8 modes, node_network_receive_bytes_total of 2 devices and node_load1 (%d series).", fleetSeriesPerHost)).Default("0").IntVar(&g.fleet)
	}

	write := app.Command("write", "Send generated remote-write traffic to a URL, one measurement per concurrency.")
	genFlags(write)
	var w writeOptions
	var conc string
	write.Flag("url", "Remote-write URL.").StringVar(&w.url)
	write.Flag("samples", "Samples per series in each concurrency step, when --duration is not set.").Default("100").IntVar(&w.samples)
	write.Flag("duration", "Send for this long in each concurrency step instead of a fixed number of samples.").Default("0s").DurationVar(&w.duration)
	write.Flag("warmup", "Send for this long before each concurrency step, unmeasured.").Default("2s").DurationVar(&w.warmup)
	write.Flag("batch", "Samples per request (Prometheus's max_samples_per_send).").Default("2000").IntVar(&w.batch)
	write.Flag("concurrency", "Concurrent senders (Prometheus's shards), or a comma-separated list to sweep: 1,2,4,8.").Default("4").StringVar(&conc)
	write.Flag("protocol", "Remote-write protocol version: 1 or 2.").Default("1").EnumVar(&w.protocol, "1", "2")
	write.Flag("label", "Name of the target in the output (default: the URL).").StringVar(&w.label)
	w.procs.register(write)
	write.Flag("csv", "Append the results to this CSV file.").StringVar(&w.csvPath)
	write.Flag("svg", "Plot samples/s against concurrency into this SVG file, from all rows of --csv when given.").StringVar(&w.svgPath)
	write.Flag("max-error-ratio", "Fail when more than this fraction of the requests failed.").Default("0").Float64Var(&w.maxErrors)
	write.Flag("dry-run", "Encode the requests without sending them, to measure the generator's own rate.").BoolVar(&w.dryRun)
	write.Flag("precompute", "Memory for request bodies encoded before each step; beyond it they are encoded while sending.").Default("512MiB").BytesVar(&w.precompute)
	write.Flag("timeout", "Timeout of one request.").Default("1m").DurationVar(&w.timeout)
	write.Flag("rate", "Send at most this many samples per second in all, at a steady pace, instead of as fast as the target answers (0). Paced requests are encoded while sending, none before.").Default("0").Float64Var(&w.rate)

	read := app.Command("read", "Measure remote-read throughput of a URL.")
	genFlags(read)
	var r readOptions
	read.Flag("url", "Remote-read URL.").Required().StringVar(&r.url)
	read.Flag("match", "Series selector of a read query; repeat it to read several, one after the other (or in turn with --concurrency).").Default(`{job="node"}`).StringsVar(&r.matches)
	read.Flag("samples", "Samples per series written; sets the end of the queried range.").Default("100").IntVar(&r.samples)
	read.Flag("type", "Response type to ask for: samples or streamed.").Default("samples").EnumVar(&r.respType, "samples", "streamed")
	read.Flag("runs", "How many times to read each selector; the median run is reported.").Default("3").IntVar(&r.runs)
	read.Flag("concurrency", "Dashboard load: this many concurrent readers, each reading the selectors in turn until --duration has passed; reports reads/s and latency percentiles.").Default("1").IntVar(&r.concurrency)
	read.Flag("duration", "Dashboard load: how long to read.").Default("0s").DurationVar(&r.duration)
	read.Flag("label", "Name of this measurement in the output.").Default("").StringVar(&r.label)
	r.procs.register(read)
	read.Flag("csv", "Append the result to this CSV file.").StringVar(&r.csvPath)

	query := app.Command("query", "Play dashboards on a Prometheus query API: concurrent clients sending PromQL range queries over the range written until --duration has passed; reports queries/s and latency percentiles.")
	genFlags(query)
	var q queryOptions
	query.Flag("url", "Root URL of the query API, http://host:port: /api/v1/query_range is under it.").Required().StringVar(&q.url)
	query.Flag("query", "PromQL of a panel; repeat it for several, which each client sends in turn.").Required().StringsVar(&q.queries)
	query.Flag("samples", "Samples per series written; sets the end of the queried range.").Default("100").IntVar(&q.samples)
	query.Flag("step", "Step of the range queries.").Default("15s").DurationVar(&q.step)
	query.Flag("concurrency", "Concurrent clients.").Default("16").IntVar(&q.concurrency)
	query.Flag("duration", "How long to query.").Default("60s").DurationVar(&q.duration)
	query.Flag("label", "Name of this measurement in the output.").Default("").StringVar(&q.label)
	q.procs.register(query)
	query.Flag("csv", "Append the result to this CSV file.").StringVar(&q.csvPath)

	sink := app.Command("sink", "Run a fake InfluxDB 1.x that counts the lines written to it, to measure a remote-write adapter alone. It stores nothing.")
	var s sinkOptions
	sink.Flag("listen", "Address to listen on.").Default("127.0.0.1:8086").StringVar(&s.listen)
	sink.Flag("validate", "Parse every line fully and answer 400 to bodies with malformed lines, as InfluxDB does.").BoolVar(&s.validate)
	sink.Flag("no-version-header", "Do not send X-Influxdb-Version, so that clients take the fake for another server (promflux then sends plain bodies).").BoolVar(&s.noVersion)
	sink.Flag("quiet", "Report only the totals on exit, not lines/s every second.").BoolVar(&s.quiet)

	cost := app.Command("influx-cost", "Write the same generated points to an InfluxDB 1.x /write in several ways (lines per request, writers, line order, precision, tag order, gzip), each into a fresh influxd or database, and compare the CPU time its influxd spends per point.")
	genFlags(cost)
	var c costOptions
	cost.Flag("influxd", "influxd binary to start afresh, with empty storage on loopback ports, for every measurement (then no --url or --pid).").StringVar(&c.influxd)
	cost.Flag("index", "index-version of the influxd that --influxd starts: inmem or tsi1.").Default("inmem").EnumVar(&c.index, "inmem", "tsi1")
	cost.Flag("url", "Base URL of a running InfluxDB 1.x, e.g. http://127.0.0.1:8086, whose databases are created and dropped.").StringVar(&c.url)
	cost.Flag("pid", "PID of the influxd behind --url, whose CPU time is measured.").IntVar(&c.pid)
	cost.Flag("samples", "Samples per series.").Default("100").IntVar(&c.samples)
	cost.Flag("shards", "Prometheus shards whose requests follow one another in the stream of lines.").Default("4").IntVar(&c.shards)
	cost.Flag("request-samples", "Samples per remote-write request (Prometheus's max_samples_per_send).").Default("2000").IntVar(&c.reqSamples)
	cost.Flag("variant", "A variant: base, or changes to it (lines=10000, bytes=0, writers=1, order=sent, precision=ms, tags=sorted, gzip=false) as key=value,...; repeatable or ';'-separated. The first is the baseline. Default: base and each change the command knows.").StringsVar(&c.variants)
	cost.Flag("runs", "Runs of every variant, interleaved.").Default("3").IntVar(&c.runs)
	cost.Flag("warmup", "Warm influxd up, unmeasured: with --url, write all points as the first variant before the runs; with --influxd, a quarter of them as base before each measurement.").Default("true").BoolVar(&c.warmup)
	cost.Flag("settle", "Longest wait for influxd to be idle, before and after each variant.").Default("30s").DurationVar(&c.settle)
	cost.Flag("idle-cpu", "influxd is idle below this fraction of a core over a second.").Default("0.03").Float64Var(&c.idleCPU)
	cost.Flag("csv", "Append every run to this CSV file.").StringVar(&c.csvPath)
	cost.Flag("timeout", "Timeout of one request.").Default("2m").DurationVar(&c.timeout)
	cost.Flag("from-csv", "Measure nothing: print the table of the runs in this --csv file.").StringVar(&c.fromCSV)

	plot := app.Command("plot", "Print the rows of bench CSV files as a table, with ratios to a baseline target, and plot them.")
	var p plotOptions
	plot.Flag("csv", "CSV file written by bench write --csv.").Required().StringVar(&p.csvPath)
	plot.Flag("svg", "Plot samples/s against concurrency into this SVG file.").StringVar(&p.svgPath)
	plot.Flag("baseline", "Target label the others are compared with, at the same concurrency.").StringVar(&p.baseline)

	clients := app.Command("clients", "Hold many idle keep-alive connections to a promflux, then add many concurrent remote-write senders, while probing /-/healthy and scraping /metrics; fail when a probe is slow or fails or a write gets an answer other than 204, 503 or 429.")
	genFlags(clients)
	var cl clientsOptions
	clients.Flag("url", "The target's root URL, http://host:port: /-/healthy, /metrics and /api/v1/write are under it.").Required().StringVar(&cl.url)
	clients.Flag("idle", "Idle keep-alive connections: each sends GET /-/healthy, then stays silent.").Default("2000").IntVar(&cl.idle)
	clients.Flag("writers", "Concurrent remote-write senders, each on a connection of its own, sending as fast as they are answered.").Default("200").IntVar(&cl.writers)
	clients.Flag("duration", "How long the writers send.").Default("60s").DurationVar(&cl.duration)
	clients.Flag("idle-hold", "How long the idle connections are alone before the writers start.").Default("5s").DurationVar(&cl.idleHold)
	clients.Flag("idle-refresh", "Every idle connection sends GET /-/healthy again this often, before promflux's 2-minute idle timeout.").Default("90s").DurationVar(&cl.idleRefresh)
	clients.Flag("health-every", "Probe GET /-/healthy this often, on a connection and from a process of its own.").Default("100ms").DurationVar(&cl.healthEvery)
	clients.Flag("max-health-latency", "Fail when a probe of /-/healthy takes longer.").Default("100ms").DurationVar(&cl.maxHealthLatency)
	clients.Flag("sample-every", "Scrape the target's /metrics this often, on a connection of its own.").Default("1s").DurationVar(&cl.sampleEvery)
	clients.Flag("batch", "Samples per write request (Prometheus's max_samples_per_send).").Default("2000").IntVar(&cl.batch)
	clients.Flag("bodies", "Requests each writer encodes before the writers start, then sends over and over (the same samples again): this process spends its CPU sending, not encoding.").Default("4").IntVar(&cl.bodies)
	clients.Flag("protocol", "Remote-write protocol version: 1 or 2.").Default("1").EnumVar(&cl.protocol, "1", "2")
	clients.Flag("timeout", "Timeout of one write request.").Default("1m").DurationVar(&cl.timeout)
	clients.Flag("csv", "Write the target's gauges at every scrape to this CSV file (the columns of bench watch).").StringVar(&cl.csvPath)

	watch := app.Command("watch", "Scrape a target's /metrics at an interval and write its RSS, goroutines, open and allowed file descriptors and open client connections as CSV rows, until --duration or SIGTERM.")
	var wo watchOptions
	watch.Flag("url", "The /metrics URL.").Required().StringVar(&wo.url)
	watch.Flag("every", "Scrape interval.").Default("10s").DurationVar(&wo.every)
	watch.Flag("duration", "Stop after this long (0: at SIGINT or SIGTERM).").Default("0s").DurationVar(&wo.duration)
	watch.Flag("csv", "Write to this file instead of stdout.").StringVar(&wo.csvPath)

	plotSeries := app.Command("plot-series", "Print the largest value of each third of the columns of a bench watch CSV file, check that some stayed flat, and plot them against time.")
	var ps seriesOptions
	plotSeries.Flag("csv", "CSV file written by bench watch or bench clients --csv.").Required().StringVar(&ps.csvPath)
	plotSeries.Flag("svg", "Plot the columns into this SVG file, one panel each.").StringVar(&ps.svgPath)
	plotSeries.Flag("title", "Title of the plot.").Default("promflux's resources over time").StringVar(&ps.title)
	plotSeries.Flag("column", "A column to plot; repeatable (default: rss_mib, goroutines, open_fds, connections).").StringsVar(&ps.columns)
	plotSeries.Flag("flat", "COLUMN=SLACK: fail unless the largest value of the column's last third is at most --flat-ratio above the largest of its middle third, plus SLACK. Repeatable.").StringsVar(&ps.flatSlack)
	plotSeries.Flag("flat-ratio", "How much above the middle third's largest value the last third's may be, as a fraction.").Default("0.2").Float64Var(&ps.flatRatio)

	cmd := kingpin.MustParse(app.Parse(os.Args[1:]))
	if g.fleet > 0 {
		g.series = g.fleet * fleetSeriesPerHost
	}
	var err error
	switch cmd {
	case write.FullCommand():
		if w.concurrency, err = parseIntList(conc); err != nil {
			err = fmt.Errorf("--concurrency: %w", err)
			break
		}
		err = runWrite(&g, &w)
	case read.FullCommand():
		err = runRead(&g, &r)
	case query.FullCommand():
		err = runQuery(&g, &q)
	case sink.FullCommand():
		err = runSink(&s)
	case plot.FullCommand():
		err = runPlot(&p)
	case clients.FullCommand():
		err = runClients(&g, &cl, os.Stdout)
	case watch.FullCommand():
		err = runWatch(&wo)
	case plotSeries.FullCommand():
		err = runPlotSeries(&ps)
	case cost.FullCommand():
		err = runInfluxCost(&g, &c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// runAsHealthProbe runs this process as the health probe of bench clients,
// and exits, when its first argument is healthProbeCommand.
func runAsHealthProbe() {
	if len(os.Args) < 2 || os.Args[1] != healthProbeCommand {
		return
	}
	if err := runHealthProbe(os.Args[2:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// parseIntList parses "1,2,4" into positive integers.
func parseIntList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("want positive integers separated by commas, got %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// procFlags are the --pid and --pid-label flags: the local processes whose
// CPU time and peak RSS a measurement reports.
type procFlags struct {
	pids   []string
	labels []string
}

func (f *procFlags) register(cmd *kingpin.CmdClause) {
	cmd.Flag("pid", "PID of a local process to measure (the target, its database): CPU used and peak RSS during each measurement. Repeatable or comma-separated.").StringsVar(&f.pids)
	cmd.Flag("pid-label", "Names of the --pid processes in the same order (default: their command names). Repeatable or comma-separated.").StringsVar(&f.labels)
}

// resolve returns the PIDs and their names, checking that each process
// exists and that the names can go into a CSV cell.
func (f *procFlags) resolve() (pids []int, names []string, err error) {
	for _, p := range splitAll(f.pids) {
		pid, err := strconv.Atoi(p)
		if err != nil || pid <= 0 {
			return nil, nil, fmt.Errorf("--pid: not a process id: %q", p)
		}
		pids = append(pids, pid)
	}
	names = splitAll(f.labels)
	if len(names) != 0 && len(names) != len(pids) {
		return nil, nil, fmt.Errorf("--pid-label: %d names for %d processes", len(names), len(pids))
	}
	for k, pid := range pids {
		if len(names) <= k {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if err != nil {
				return nil, nil, fmt.Errorf("--pid %d: %w", pid, err)
			}
			names = append(names, strings.TrimSpace(string(b)))
		}
		if strings.ContainsAny(names[k], " =,\"") || names[k] == "" {
			return nil, nil, fmt.Errorf("--pid-label %q: names must be non-empty, without spaces, '=', ',' or '\"'", names[k])
		}
		for _, other := range names[:k] {
			if other == names[k] {
				names[k] += "-" + strconv.Itoa(pid)
			}
		}
	}
	return pids, names, nil
}

func splitAll(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// progress prints a status line to stderr every second until stop is
// closed, overwriting it in place.
func progress(stop <-chan struct{}, line func() string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	printed := false
	for {
		select {
		case <-stop:
			if printed {
				fmt.Fprintln(os.Stderr)
			}
			return
		case <-t.C:
			fmt.Fprintf(os.Stderr, "\r%s   ", line())
			printed = true
		}
	}
}
