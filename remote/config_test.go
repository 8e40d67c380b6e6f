package remote

import (
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v2"
)

func TestConfigUnmarshalYAML(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    Config
		wantErr string
	}{
		{name: "empty section keeps defaults", in: "{}", want: DefaultConfig},
		{name: "partial override", in: "max_request_bytes: 1MiB", want: defaultsWith(func(c *Config) { c.MaxRequestBytes = units.MiB })},
		{name: "both set", in: "max_request_bytes: 4MiB\nmax_decoded_bytes: 16MiB", want: defaultsWith(func(c *Config) { c.MaxRequestBytes, c.MaxDecodedBytes = 4*units.MiB, 16*units.MiB })},
		{name: "body rate", in: "body_timeout: 5s\nmin_body_rate: 1KiB", want: defaultsWith(func(c *Config) { c.BodyTimeout, c.MinBodyRate = model.Duration(5*time.Second), units.KiB })},
		{name: "no series limit", in: "max_series_per_request: 0", want: defaultsWith(func(c *Config) { c.MaxSeriesPerRequest = 0 })},
		{name: "negative label limit", in: "max_labels_per_series: -1", wantErr: "limits.max_labels_per_series must be >= 0 (0: no limit), got -1"},
		{name: "zero body timeout", in: "body_timeout: 0s", wantErr: "limits.body_timeout must be > 0"},
		{name: "zero body rate", in: "min_body_rate: 0B", wantErr: "limits.min_body_rate must be > 0"},
		{name: "zero request limit", in: "max_request_bytes: 0B", wantErr: "limits.max_request_bytes must be > 0"},
		{name: "negative decoded limit", in: "max_decoded_bytes: -1MiB", wantErr: "limits.max_decoded_bytes must be > 0"},
		{name: "unknown key", in: "max_bytes: 1MiB", wantErr: "field max_bytes not found"},
		{name: "bad unit", in: "max_request_bytes: lots", wantErr: "units"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Config
			err := yaml.UnmarshalStrict([]byte(tc.in), &got)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// defaultsWith is DefaultConfig changed by set.
func defaultsWith(set func(*Config)) Config {
	c := DefaultConfig
	set(&c)
	return c
}

func TestConfigUnderLimitsKey(t *testing.T) {
	var top struct {
		Limits Config `yaml:"limits"`
	}
	if err := yaml.UnmarshalStrict([]byte("limits:\n  max_decoded_bytes: 128MiB\n"), &top); err != nil {
		t.Fatal(err)
	}
	want := defaultsWith(func(c *Config) { c.MaxDecodedBytes = 128 * units.MiB })
	if top.Limits != want {
		t.Fatalf("got %+v, want %+v", top.Limits, want)
	}
}

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig.Validate(); err != nil {
		t.Fatal(err)
	}
	if DefaultConfig.MaxRequestBytes != 32<<20 || DefaultConfig.MaxDecodedBytes != 64<<20 {
		t.Fatalf("unexpected defaults %+v", DefaultConfig)
	}
}
