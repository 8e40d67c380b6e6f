package main

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/prompb"
)

// generator produces node_exporter-like series: a handful of metric names,
// each with the labels node_exporter gives it, spread over instances, and
// optionally the target labels that service discovery and relabelling add
// (env, region, cluster, ...), which are the same for every series of an
// instance.
type generator struct {
	series int
	// labels is the number of labels of every series, __name__ included;
	// 0 keeps each metric's own set (3 to minLabels labels).
	labels      int
	labelsExtra int   // extra labels per series beyond the node_exporter-like ones
	fleet       int   // hosts of the fleet layout (fleetLabels), 0 for the default one
	start       int64 // first timestamp, ms
	interval    int64 // between samples of a series, ms
}

var nodeMetrics = []struct {
	name   string
	labels []string
}{
	{"node_cpu_seconds_total", []string{"cpu", "mode"}},
	{"node_network_receive_bytes_total", []string{"device"}},
	{"node_filesystem_avail_bytes", []string{"device", "fstype", "mountpoint"}},
	{"node_disk_read_bytes_total", []string{"device"}},
	{"node_memory_MemAvailable_bytes", nil},
}

// minLabels is the largest label set of nodeMetrics (__name__, instance,
// job and node_filesystem_avail_bytes' three): --labels cannot go below it
// without merging series.
const minLabels = 6

// maxLabels bounds --labels: Prometheus's default label_limit is unlimited,
// but past a few dozen labels a benchmark measures an unusual workload.
const maxLabels = 64

// targetLabels are the names, in the order they are added, and values of
// the labels that pad a series to --labels: typical target labels of a
// fleet of hosts.
var targetLabels = []struct {
	name   string
	values []string
}{
	{"env", []string{"prod", "staging", "dev"}},
	{"region", []string{"eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1"}},
	{"availability_zone", []string{"a", "b", "c"}},
	{"cluster", []string{"blue", "green", "red", "amber"}},
	{"datacenter", []string{"dc1", "dc2", "dc3"}},
	{"team", []string{"storage", "platform", "payments", "search", "infra"}},
	{"role", []string{"web", "db", "cache", "queue", "batch", "ingest"}},
	{"os", []string{"linux"}},
	{"arch", []string{"amd64", "arm64"}},
	{"kernel", []string{"6.1.0-18-amd64", "6.1.0-21-amd64", "5.10.0-28-amd64"}},
	{"rack", []string{"r01", "r02", "r03", "r04", "r05", "r06", "r07"}},
	{"service", []string{"checkout", "catalog", "accounts", "ledger"}},
	{"tier", []string{"frontend", "backend"}},
	{"owner", []string{"alice", "bob", "carol", "dave"}},
}

// validate reports flag combinations that cannot give the asked label sets.
func (g *generator) validate() error {
	switch {
	case g.series <= 0:
		return fmt.Errorf("--series must be > 0, got %d", g.series)
	case g.labels != 0 && g.labelsExtra != 0:
		return fmt.Errorf("--labels=%d and --extra-labels=%d: give only one", g.labels, g.labelsExtra)
	case g.labels != 0 && (g.labels < minLabels || g.labels > maxLabels):
		return fmt.Errorf("--labels must be between %d (the largest node_exporter-like set) and %d, got %d", minLabels, maxLabels, g.labels)
	case g.fleet < 0:
		return fmt.Errorf("--fleet must be >= 0, got %d", g.fleet)
	case g.fleet > 0 && (g.labels != 0 || g.labelsExtra != 0):
		return fmt.Errorf("--fleet keeps node_exporter's own labels: give no --labels or --extra-labels")
	case g.labelsExtra < 0:
		return fmt.Errorf("--extra-labels must be >= 0, got %d", g.labelsExtra)
	case g.interval <= 0:
		return fmt.Errorf("--interval must be > 0, got %d", g.interval)
	}
	return nil
}

// labelSet returns the label set of series i, sorted by name as Prometheus
// sends them. Every i gives a distinct series: the metric comes from i, the
// instance and the metric's own labels from i's rank within its metric.
func (g *generator) labelSet(i int) []prompb.Label {
	if g.fleet > 0 {
		return fleetLabels(i)
	}
	m := nodeMetrics[i%len(nodeMetrics)]
	j := i / len(nodeMetrics)
	instance := j / 10
	lbls := []prompb.Label{
		{Name: "__name__", Value: m.name},
		{Name: "instance", Value: fmt.Sprintf("host-%04d.example.org:9100", instance)},
		{Name: "job", Value: "node"},
	}
	for k := 0; k < g.labelsExtra; k++ {
		lbls = append(lbls, prompb.Label{Name: fmt.Sprintf("extra_%02d", k), Value: fmt.Sprintf("value-%d", (j+k)%13)})
	}
	for k, name := range m.labels {
		lbls = append(lbls, prompb.Label{Name: name, Value: fmt.Sprintf("%s%d", name[:2], (j+k)%10)})
	}
	if len(m.labels) == 0 {
		// One series per instance and metric: the rank must show in the instance.
		lbls[1].Value = fmt.Sprintf("host-%05d.example.org:9100", j)
		instance = j
	}
	for k := 0; len(lbls) < g.labels; k++ {
		// Target labels depend on the instance only, as on a real fleet;
		// past the list, numbered ones.
		if k < len(targetLabels) {
			t := targetLabels[k]
			lbls = append(lbls, prompb.Label{Name: t.name, Value: t.values[(instance+k)%len(t.values)]})
			continue
		}
		lbls = append(lbls, prompb.Label{Name: fmt.Sprintf("label_%02d", k), Value: fmt.Sprintf("value-%d", (instance+k)%7)})
	}
	sortLabels(lbls)
	return lbls
}

// The fleet layout: per host, node_exporter's CPU seconds of 8 CPUs in 8
// modes, the received bytes of 2 network devices and the load average, so
// that selectors match 1 (node_load1{instance=...}), 2 x hosts
// (node_network_receive_bytes_total), 8 x hosts (one mode of
// node_cpu_seconds_total) and 64 x hosts series of one metric, as a
// dashboard over a fleet does.
const (
	fleetCPUs           = 8
	fleetSeriesPerHost  = fleetCPUs*len(fleetModes) + fleetNetworkDevices + 1
	fleetNetworkDevices = 2
)

var fleetModes = [8]string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}

// fleetLabels returns the label set of series i of the fleet layout.
func fleetLabels(i int) []prompb.Label {
	host, k := i/fleetSeriesPerHost, i%fleetSeriesPerHost
	lbls := []prompb.Label{
		{Name: "instance", Value: fmt.Sprintf("host-%02d.example.org:9100", host)},
		{Name: "job", Value: "node"},
	}
	cpuSeries := fleetCPUs * len(fleetModes)
	switch {
	case k < cpuSeries:
		lbls = append(lbls, prompb.Label{Name: "__name__", Value: "node_cpu_seconds_total"},
			prompb.Label{Name: "cpu", Value: fmt.Sprint(k / len(fleetModes))},
			prompb.Label{Name: "mode", Value: fleetModes[k%len(fleetModes)]})
	case k < cpuSeries+fleetNetworkDevices:
		lbls = append(lbls, prompb.Label{Name: "__name__", Value: "node_network_receive_bytes_total"},
			prompb.Label{Name: "device", Value: []string{"eth0", "lo"}[k-cpuSeries]})
	default:
		lbls = append(lbls, prompb.Label{Name: "__name__", Value: "node_load1"})
	}
	sortLabels(lbls)
	return lbls
}

// value is the n-th sample of series i: counters grow, gauges wander.
func (g *generator) value(i, n int) float64 {
	if i%len(nodeMetrics) == 2 || i%len(nodeMetrics) == 4 {
		return 1e9 + 1e6*math.Sin(float64(n+i)/10)
	}
	return float64(n*(i%17+1)) + 0.25*float64(n%4)
}

func (g *generator) timestamp(n int) int64 { return g.start + int64(n)*g.interval }

func sortLabels(lbls []prompb.Label) {
	for i := 1; i < len(lbls); i++ {
		for j := i; j > 0 && lbls[j].Name < lbls[j-1].Name; j-- {
			lbls[j], lbls[j-1] = lbls[j-1], lbls[j]
		}
	}
}
