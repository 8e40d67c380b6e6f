package main

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/prompb"
)

// generator produces node_exporter-like series: a handful of metric names,
// each with the labels node_exporter gives it, spread over instances.
type generator struct {
	series      int
	labelsExtra int   // extra labels per series beyond the node_exporter-like ones
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

// labels returns the label set of series i, sorted by name as Prometheus
// sends them. Every i gives a distinct series: the metric comes from i, the
// instance and the metric's own labels from i's rank within its metric.
func (g *generator) labels(i int) []prompb.Label {
	m := nodeMetrics[i%len(nodeMetrics)]
	j := i / len(nodeMetrics)
	lbls := []prompb.Label{
		{Name: "__name__", Value: m.name},
		{Name: "instance", Value: fmt.Sprintf("host-%04d.example.org:9100", j/10)},
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
