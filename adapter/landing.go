package adapter

import (
	"net/http"

	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
)

// landingPage is the page of GET /, as Prometheus's exporters have:
// what promflux is and links to its endpoints.
func landingPage() (http.Handler, error) {
	return web.NewLandingPage(web.LandingConfig{
		Name:        "promflux",
		Description: "Prometheus remote storage adapter for InfluxDB: remote write to POST /api/v1/write, remote read from POST /api/v1/read, PromQL, series, labels, metadata and exemplars at Prometheus's /api/v1/query, /api/v1/query_range, /api/v1/series, /api/v1/labels, /api/v1/metadata and /api/v1/query_exemplars.",
		Version:     version.Info(),
		Profiling:   "false", // no /debug/pprof here
		Links: []web.LandingLinks{
			{Address: "api/v1/query?query=up", Text: "Query", Description: "PromQL over what the databases hold: up, now"},
			{Address: "api/v1/label/__name__/values", Text: "Metric names", Description: "the metric names in the databases' index"},
			{Address: "metrics", Text: "Metrics", Description: "promflux's own metrics"},
			{Address: "config", Text: "Configuration", Description: "the running configuration, secrets hidden"},
			{Address: "-/ready", Text: "Ready", Description: "200 when the databases ready.require asks for answer ping"},
			{Address: "-/healthy", Text: "Healthy", Description: "200 while the process serves"},
		},
	})
}

// handleConfig serves GET /config: the running configuration as YAML, with
// passwords and tokens shown as <secret>.
func (s *Server) handleConfig(w http.ResponseWriter, _ *http.Request) {
	out, err := yaml.Marshal(s.state.Load().cfg)
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/yaml; charset=utf-8")
	_, _ = w.Write(out)
}
