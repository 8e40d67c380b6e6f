package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// result is one measurement: one target at one concurrency.
type result struct {
	Target      string
	Protocol    string // "1" or "2" for writes, "read-samples" or "read-streamed"
	Concurrency int
	Samples     int64   // acknowledged
	Seconds     float64 // wall time of the measurement
	SamplesPerS float64
	RequestsPS  float64
	P50ms       float64
	P99ms       float64
	// Errors counts failed requests by HTTP status ("503") or "transport"
	// for requests that got no answer.
	Errors map[string]int
	Procs  []procUsage
}

// csvHeader names the columns of the CSV files bench appends to.
var csvHeader = []string{
	"target", "protocol", "concurrency", "samples", "seconds", "samples_per_s",
	"requests_per_s", "p50_ms", "p99_ms", "errors", "cpu_cores", "peak_rss_mib",
}

// errorCount sums Errors.
func (r *result) errorCount() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// percentile returns the p-quantile (0 < p <= 1) of sorted by the
// nearest-rank method: the smallest value at least p of all values are
// less than or equal to. It is 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// formatPairs writes "k=v k=v", sorted by key.
func formatPairs(m map[string]int, format func(int) string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + format(m[k]))
	}
	return b.String()
}

// parsePairs calls parse with each "k=v" of a cell.
func parsePairs(s string, parse func(string) error) error {
	for _, kv := range strings.Fields(s) {
		if err := parse(kv); err != nil {
			return err
		}
	}
	return nil
}

func (r *result) record() []string {
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	// Processes in the order of --pid, so that the target comes first.
	var cores, rss []string
	for _, p := range r.Procs {
		cores = append(cores, p.Name+"="+f(p.Cores, 2))
		rss = append(rss, p.Name+"="+f(p.PeakMiB, 1))
	}
	return []string{
		r.Target, r.Protocol, strconv.Itoa(r.Concurrency), strconv.FormatInt(r.Samples, 10),
		f(r.Seconds, 3), f(r.SamplesPerS, 0), f(r.RequestsPS, 1), f(r.P50ms, 2), f(r.P99ms, 2),
		formatPairs(r.Errors, strconv.Itoa), strings.Join(cores, " "), strings.Join(rss, " "),
	}
}

func parseRecord(rec []string) (result, error) {
	if len(rec) != len(csvHeader) {
		return result{}, fmt.Errorf("%d columns, want %d", len(rec), len(csvHeader))
	}
	r := result{Target: rec[0], Protocol: rec[1], Errors: map[string]int{}}
	var err error
	num := func(i int, dst *float64) {
		if err == nil {
			if *dst, err = strconv.ParseFloat(rec[i], 64); err != nil {
				err = fmt.Errorf("column %s: %w", csvHeader[i], err)
			}
		}
	}
	if r.Concurrency, err = strconv.Atoi(rec[2]); err != nil {
		return r, fmt.Errorf("column concurrency: %w", err)
	}
	if r.Samples, err = strconv.ParseInt(rec[3], 10, 64); err != nil {
		return r, fmt.Errorf("column samples: %w", err)
	}
	num(4, &r.Seconds)
	num(5, &r.SamplesPerS)
	num(6, &r.RequestsPS)
	num(7, &r.P50ms)
	num(8, &r.P99ms)
	if err != nil {
		return r, err
	}
	if err := parsePairs(rec[9], func(kv string) error {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		r.Errors[k] = n
		return err
	}); err != nil {
		return r, fmt.Errorf("column errors: %w", err)
	}
	procs := map[string]*procUsage{}
	var names []string
	for i, dst := range []func(*procUsage, float64){
		func(p *procUsage, v float64) { p.Cores = v },
		func(p *procUsage, v float64) { p.PeakMiB = v },
	} {
		if err := parsePairs(rec[10+i], func(kv string) error {
			k, v, _ := strings.Cut(kv, "=")
			x, err := strconv.ParseFloat(v, 64)
			if procs[k] == nil {
				procs[k] = &procUsage{Name: k}
				names = append(names, k)
			}
			dst(procs[k], x)
			return err
		}); err != nil {
			return r, fmt.Errorf("column %s: %w", csvHeader[10+i], err)
		}
	}
	for _, n := range names {
		r.Procs = append(r.Procs, *procs[n])
	}
	return r, nil
}

// appendCSV appends rows to the CSV file at path, writing the header first
// when the file is new or empty, so that runs against several targets
// accumulate in one file.
func appendCSV(path string, rows []result) error {
	records := make([][]string, len(rows))
	for i := range rows {
		records[i] = rows[i].record()
	}
	return appendRecords(path, csvHeader, records)
}

// appendRecords appends records to the CSV file at path, whose first row
// must be header: it is written first when the file is new or empty.
func appendRecords(path string, header []string, records [][]string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w := csv.NewWriter(f)
	if st.Size() == 0 {
		_ = w.Write(header) // its error is w.Error, below
	} else if head, err := csv.NewReader(f).Read(); err != nil || !slices.Equal(head, header) {
		f.Close()
		return fmt.Errorf("cannot append to %s: its header is not %q but %q", path, header, head)
	}
	for _, rec := range records {
		_ = w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return f.Close()
}

// readCSV reads every row of a file appendCSV wrote.
func readCSV(r io.Reader) ([]result, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !slices.Equal(head, csvHeader) {
		return nil, fmt.Errorf("not a bench CSV: header %q", head)
	}
	var rows []result
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		r, err := parseRecord(rec)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rows = append(rows, r)
	}
}

func readCSVFile(path string) ([]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := readCSV(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return rows, nil
}

// printTable writes rows as an aligned table. The CPU and memory figures
// are those of processes that share the machine's cores with the load
// generator and each other, which the header says.
func printTable(w io.Writer, rows []result) {
	fmt.Fprintf(w, "# %d cores shared by the load generator, the target and its database; cpu in cores used\n", runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tRW\tconc\tsamples/s\trequests/s\tp50 ms\tp99 ms\terrors\tcpu (cores)\tpeak RSS (MiB)\t")
	for i := range rows {
		r := &rows[i]
		rec := r.record()
		errs := rec[9]
		if errs == "" {
			errs = "0"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t\n", r.Target, r.Protocol, r.Concurrency,
			r.SamplesPerS, r.RequestsPS, r.P50ms, r.P99ms, errs, orDash(rec[10]), orDash(rec[11]))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
