package main

import (
	"fmt"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

func main() {
	app := kingpin.New("bench", "Load generator and benchmark for Prometheus remote-write and remote-read receivers.")
	app.HelpFlag.Short('h')

	var g generator
	genFlags := func(cmd *kingpin.CmdClause) {
		cmd.Flag("series", "Number of series.").Default("1000").IntVar(&g.series)
		cmd.Flag("extra-labels", "Labels per series beyond the node_exporter-like ones.").Default("0").IntVar(&g.labelsExtra)
		cmd.Flag("start", "Timestamp of the first sample, ms since the epoch.").Default("1700000000000").Int64Var(&g.start)
		cmd.Flag("interval", "Milliseconds between the samples of a series.").Default("15000").Int64Var(&g.interval)
	}

	write := app.Command("write", "Send generated remote-write traffic to a URL.")
	genFlags(write)
	var w writeOptions
	write.Flag("url", "Remote-write URL.").Required().StringVar(&w.url)
	write.Flag("samples", "Samples per series.").Default("100").IntVar(&w.samples)
	write.Flag("batch", "Samples per request (Prometheus's max_samples_per_send).").Default("2000").IntVar(&w.batch)
	write.Flag("concurrency", "Concurrent requests (Prometheus's shards).").Default("4").IntVar(&w.concurrency)
	write.Flag("protocol", "Remote-write protocol version: 1 or 2.").Default("1").EnumVar(&w.protocol, "1", "2")

	read := app.Command("read", "Measure remote-read throughput of a URL.")
	genFlags(read)
	var r readOptions
	read.Flag("url", "Remote-read URL.").Required().StringVar(&r.url)
	read.Flag("match", "Series selector of the read query.").Default(`{job="node"}`).StringVar(&r.match)
	read.Flag("samples", "Samples per series written; sets the end of the queried range.").Default("100").IntVar(&r.samples)
	read.Flag("type", "Response type to ask for: samples or streamed.").Default("samples").EnumVar(&r.respType, "samples", "streamed")
	read.Flag("runs", "How many times to read.").Default("3").IntVar(&r.runs)
	read.Flag("pid", "PID of the local receiver, to report its peak RSS during the reads.").IntVar(&r.pid)
	read.Flag("label", "Name of this measurement in the output.").Default("").StringVar(&r.label)

	var err error
	switch kingpin.MustParse(app.Parse(os.Args[1:])) {
	case write.FullCommand():
		err = runWrite(&g, &w)
	case read.FullCommand():
		err = runRead(&g, &r)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// progress prints a status line to stderr every second until stop is closed.
func progress(stop <-chan struct{}, line func() string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			fmt.Fprintln(os.Stderr)
			return
		case <-t.C:
			fmt.Fprintf(os.Stderr, "\r%s   ", line())
		}
	}
}
