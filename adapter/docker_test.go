package adapter

import "testing"

// TestDockerConfigs: promflux loads the configuration docker/compose.yml
// runs it with. (promtool checks Prometheus's, docker/prometheus.yml, in
// e2e's TestAlertRules.)
func TestDockerConfigs(t *testing.T) {
	if _, err := LoadConfigFile("../docker/promflux.yml"); err != nil {
		t.Fatal(err)
	}
}
