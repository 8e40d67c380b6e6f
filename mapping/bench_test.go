package mapping

import (
	"math"
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

// The benchmarks in this file measure the mapping share of the write path
// on the shape of a real remote-write request: 2000 samples, usually 2000
// series with one sample each, with node_exporter-like label sets. Each
// operation is one whole request, so ns/op divided by 2000 is the cost per
// sample, and the samples/s metric can be compared directly with the
// decoder's.

// requestSamples is the number of samples Prometheus puts in one
// remote-write request by default (queue_config.max_samples_per_send).
const requestSamples = 2000

// benchFamily is one metric family of the synthetic node_exporter target:
// its name and, per series, the family-specific labels.
type benchFamily struct {
	name   string
	labels [][]string // name, value pairs; one entry per series of the target
}

// benchFamilies returns the families a node_exporter-like target exposes,
// 80 series per target in all, with their own labels sorted by name.
func benchFamilies() []benchFamily {
	var cpu, fs, net [][]string
	for c := 0; c < 4; c++ {
		for _, mode := range []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"} {
			cpu = append(cpu, []string{"cpu", strconv.Itoa(c), "mode", mode})
		}
	}
	for _, m := range [][3]string{
		{"/dev/nvme0n1p1", "vfat", "/boot/efi"}, {"/dev/nvme0n1p2", "ext4", "/"},
		{"/dev/nvme1n1", "xfs", "/var/lib/docker"}, {"tmpfs", "tmpfs", "/run"},
	} {
		fs = append(fs, []string{"device", m[0], "fstype", m[1], "mountpoint", m[2]})
	}
	for _, d := range []string{"eth0", "eth1", "lo", "docker0"} {
		net = append(net, []string{"device", d})
	}
	var fams []benchFamily
	fams = append(fams, benchFamily{"node_cpu_seconds_total", cpu})
	for _, n := range []string{"node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_filesystem_files_free"} {
		fams = append(fams, benchFamily{n, fs})
	}
	for _, n := range []string{"node_network_receive_bytes_total", "node_network_transmit_bytes_total", "node_network_receive_packets_total"} {
		fams = append(fams, benchFamily{n, net})
	}
	for _, n := range []string{
		"go_goroutines", "go_memstats_alloc_bytes", "go_gc_duration_seconds_sum", "go_threads",
		"process_resident_memory_bytes", "process_cpu_seconds_total", "node_load1", "node_load5",
		"node_load15", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", "node_boot_time_seconds",
		"node_context_switches_total", "node_intr_total", "node_procs_running", "up",
		"scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added", "node_time_seconds",
		"node_entropy_available_bits", "node_forks_total", "node_procs_blocked", "node_sockstat_TCP_inuse",
	} {
		fams = append(fams, benchFamily{n, [][]string{nil}})
	}
	return fams
}

// benchSeries returns n label sets of node_exporter-like targets, sorted
// by name as Prometheus sends them, with 6 to 10 labels each. Targets
// alternate between jobs, environments and teams so that routes match
// some of them. With escape, label values need line-protocol escapes.
func benchSeries(n int, escape bool) [][]prompb.Label {
	fams := benchFamilies()
	var out [][]prompb.Label
	for target := 0; len(out) < n; target++ {
		instance := "node-" + leftPad(strconv.Itoa(target+1), 3) + ".dc" + strconv.Itoa(target%3+1) + ".example.com:9100"
		job := []string{"node", "node", "node", "app"}[target%4]
		env := []string{"prod", "staging", "dev"}[target%3]
		team := []string{"a", "b", "platform"}[target%3]
		region := "eu-west-" + strconv.Itoa(target%2+1)
		if escape {
			instance = "node " + strconv.Itoa(target) + ",rack=7"
			region = "eu west=" + strconv.Itoa(target%2+1)
		}
		for _, f := range fams {
			for _, own := range f.labels {
				if len(out) == n {
					return out
				}
				kv := append([]string{"__name__", f.name, "env", env, "instance", instance, "job", job, "region", region, "team", team}, own...)
				ls := lbls(kv...)
				if escape {
					// A path with spaces, as mount points and process names have.
					ls = append(ls, prompb.Label{Name: "path", Value: "/mnt/My Disk, 2"})
				}
				sortLabels(ls)
				out = append(out, ls)
			}
		}
	}
	return out
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func sortLabels(ls []prompb.Label) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

// benchRequest is one remote-write request's worth of series.
type benchRequest struct {
	labels  [][]prompb.Label
	samples [][]prompb.Sample
}

// newBenchRequest returns series series of perSeries samples each, with
// values like those of counters and gauges (integers, fractions, large
// byte counts) so that float formatting is not flattered. special sets
// every value to a stale marker or a NaN, as after a target goes down.
func newBenchRequest(series, perSeries int, escape, special bool) benchRequest {
	r := benchRequest{labels: benchSeries(series, escape)}
	all := make([]prompb.Sample, series*perSeries)
	k := 0
	for i := range r.labels {
		ss := all[i*perSeries : (i+1)*perSeries : (i+1)*perSeries]
		for j := range ss {
			var v float64
			switch k % 4 {
			case 0:
				v = float64(k * 37)
			case 1:
				v = 0.25 + float64(k)/1000
			case 2:
				v = 123456789012 + float64(k)*4096
			default:
				v = 1.7e-3 * float64(k)
			}
			if special {
				v = math.Float64frombits(value.StaleNaN)
				if k%2 == 1 {
					v = math.NaN()
				}
			}
			ss[j] = prompb.Sample{Value: v, Timestamp: 1700000000000 + int64(j)*15000 + int64(i%15)}
			k++
		}
		r.samples = append(r.samples, ss)
	}
	return r
}

// samplesPerSecond reports the throughput of b in samples per second and
// the cost per sample, given n samples per operation.
func samplesPerSecond(b *testing.B, n int) {
	b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/sample")
}

func BenchmarkAppendSeries(b *testing.B) {
	for _, bc := range []struct {
		name              string
		series, perSeries int
		escape, special   bool
	}{
		{"2000x1", 2000, 1, false, false},
		{"500x4", 500, 4, false, false},
		{"1x2000", 1, 2000, false, false},
		{"2000x1/escaped", 2000, 1, true, false},
		{"2000x1/special", 2000, 1, false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := newBenchRequest(bc.series, bc.perSeries, bc.escape, bc.special)
			var c Counts
			encode := func(buf []byte) []byte {
				for i := range r.labels {
					var err error
					if buf, err = AppendSeries(buf, r.labels[i], r.samples[i], 0, &c); err != nil {
						b.Fatal(err)
					}
				}
				return buf
			}
			buf := encode(nil)
			if c.Points != requestSamples {
				b.Fatalf("encoded %d points, want %d", c.Points, requestSamples)
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = encode(buf[:0])
			}
			samplesPerSecond(b, requestSamples)
		})
	}
}

// benchRoutes is a typical routing configuration: one route per team or
// job that needs its own retention, then the default database.
const benchRoutes = `
- match: '{job="node"}'
  database: node
- match: '{__name__=~"go_.*"}'
  database: go
- match: '{env!="prod",team=~"a|b"}'
  database: nonprod
`

func BenchmarkRoute(b *testing.B) {
	for _, bc := range []struct{ name, routes string }{
		{"typical", benchRoutes},
		{"no_routes", "[]"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := mustRouter(b, bc.routes, "prometheus")
			series := benchSeries(requestSamples, false)
			hits := map[string]int{}
			for _, ls := range series {
				hits[r.Route(ls)]++
			}
			if bc.routes == benchRoutes && len(hits) != 4 {
				b.Fatalf("series routed to %v, want every database", hits)
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, ls := range series {
					r.Route(ls)
				}
			}
			samplesPerSecond(b, requestSamples)
		})
	}
}

// BenchmarkRouteAndAppend is the mapping share of the write path for one
// request: route each series, then encode it into its database's buffer.
func BenchmarkRouteAndAppend(b *testing.B) {
	r := mustRouter(b, benchRoutes, "prometheus")
	req := newBenchRequest(requestSamples, 1, false, false)
	bufs := map[string][]byte{}
	var c Counts
	encode := func() int {
		n := 0
		for db, buf := range bufs {
			bufs[db] = buf[:0]
		}
		for i := range req.labels {
			db := r.Route(req.labels[i])
			buf, err := AppendSeries(bufs[db], req.labels[i], req.samples[i], 0, &c)
			if err != nil {
				b.Fatal(err)
			}
			bufs[db] = buf
		}
		for _, buf := range bufs {
			n += len(buf)
		}
		return n
	}
	b.SetBytes(int64(encode()))
	b.ReportAllocs()
	for b.Loop() {
		encode()
	}
	samplesPerSecond(b, requestSamples)
}
