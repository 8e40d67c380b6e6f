package adapter

import (
	"os/exec"
	"testing"
)

// TestDockerConfigs checks the configurations docker/compose.yml runs, as
// far as they can be checked without a container engine: promflux loads
// its file, and promtool accepts Prometheus's.
func TestDockerConfigs(t *testing.T) {
	if _, err := LoadConfigFile("../docker/promflux.yml"); err != nil {
		t.Fatal(err)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install the Debian package prometheus (scripts/test.sh does)")
	}
	if out, err := exec.Command(promtool, "check", "config", "../docker/prometheus.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}
