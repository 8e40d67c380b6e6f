package promapi

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"testing"
)

// TestReleaseOf: the Prometheus Go module's versions are its releases.
func TestReleaseOf(t *testing.T) {
	for _, c := range []struct{ module, release string }{
		{"v0.316.0", "3.16.0"},
		{"v0.300.1", "3.0.1"},
		{"v0.54.1", "2.54.1"},
		{"v0.42.0", "2.42.0"},
		{"v0.301.0-rc.0", "3.1.0-rc.0"},
	} {
		if got, err := releaseOf(c.module); err != nil || got != c.release {
			t.Errorf("releaseOf(%q) = %q, %v; want %q", c.module, got, err, c.release)
		}
	}
	for _, bad := range []string{"", "v1.2.3", "v0.x.1", "v0.316", "(devel)"} {
		if got, err := releaseOf(bad); err == nil {
			t.Errorf("releaseOf(%q) = %q, want an error", bad, got)
		}
	}
}

// TestEngineRelease: engineRelease is the release of the Prometheus
// module go.mod requires.
func TestEngineRelease(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/prometheus/prometheus (v\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod requires no github.com/prometheus/prometheus")
	}
	if got, err := releaseOf(string(m[1])); err != nil || got != engineRelease {
		t.Errorf("go.mod requires Prometheus %s (%v), engineRelease is %s", got, err, engineRelease)
	}
}

// TestBuildInfo: Prometheus's fields, version being engineRelease.
func TestBuildInfo(t *testing.T) {
	ts, _ := startAPI(t, DefaultConfig, testSeries())
	a := get(t, ts, "/api/v1/status/buildinfo", nil)
	if a.status != http.StatusOK || a.contentType != "application/json" {
		t.Fatalf("status %d, content type %q: %s", a.status, a.contentType, a.body)
	}
	var got struct {
		Status string            `json:"status"`
		Data   map[string]string `json:"data"`
	}
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	if want := engineRelease; got.Status != "success" || got.Data["version"] != want || got.Data["application"] != "promflux" {
		t.Errorf("answer %s, want status success, version %q, application promflux", a.body, want)
	}
	for _, key := range []string{"revision", "branch", "buildUser", "buildDate", "goVersion", "promfluxVersion"} {
		if _, ok := got.Data[key]; !ok {
			t.Errorf("no %q in %s", key, a.body)
		}
	}
}
