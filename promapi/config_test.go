package promapi

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"
)

func TestConfig(t *testing.T) {
	var c Config
	if err := yaml.UnmarshalStrict([]byte("max_concurrency: 4\nlookback_delta: 1m\n"), &c); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig
	want.MaxConcurrency, want.LookbackDelta = 4, model.Duration(time.Minute)
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	for doc, msg := range map[string]string{
		"timeout: 0s":         "query.timeout must be > 0, got 0s",
		"max_samples: 0":      "query.max_samples must be > 0, got 0",
		"max_concurrency: -1": "query.max_concurrency must be > 0, got -1",
		"lookback_delta: 0s":  "query.lookback_delta must be > 0, got 0s",
	} {
		if err := yaml.UnmarshalStrict([]byte(doc), &c); err == nil || err.Error() != msg {
			t.Errorf("%s: %v, want %q", doc, err, msg)
		}
	}
	if err := yaml.UnmarshalStrict([]byte("max_sample: 1"), &c); err == nil {
		t.Error("unknown key accepted")
	}
}
