package remote

import (
	"cmp"
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
		{name: "partial override", in: "max_request_bytes: 1MiB", want: withDefaults(Config{MaxRequestBytes: units.MiB})},
		{name: "both set", in: "max_request_bytes: 4MiB\nmax_decoded_bytes: 16MiB", want: withDefaults(Config{MaxRequestBytes: 4 * units.MiB, MaxDecodedBytes: 16 * units.MiB})},
		{name: "body rate", in: "body_timeout: 5s\nmin_body_rate: 1KiB", want: withDefaults(Config{BodyTimeout: model.Duration(5 * time.Second), MinBodyRate: units.KiB})},
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

// withDefaults is c with DefaultConfig's values where c has none.
func withDefaults(c Config) Config {
	c.MaxRequestBytes = cmp.Or(c.MaxRequestBytes, DefaultConfig.MaxRequestBytes)
	c.MaxDecodedBytes = cmp.Or(c.MaxDecodedBytes, DefaultConfig.MaxDecodedBytes)
	c.BodyTimeout = cmp.Or(c.BodyTimeout, DefaultConfig.BodyTimeout)
	c.MinBodyRate = cmp.Or(c.MinBodyRate, DefaultConfig.MinBodyRate)
	return c
}

func TestConfigUnderLimitsKey(t *testing.T) {
	var top struct {
		Limits Config `yaml:"limits"`
	}
	if err := yaml.UnmarshalStrict([]byte("limits:\n  max_decoded_bytes: 128MiB\n"), &top); err != nil {
		t.Fatal(err)
	}
	want := withDefaults(Config{MaxDecodedBytes: 128 * units.MiB})
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
