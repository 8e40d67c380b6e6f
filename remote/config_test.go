package remote

import (
	"strings"
	"testing"

	"github.com/alecthomas/units"
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
		{name: "partial override", in: "max_request_bytes: 1MiB", want: Config{MaxRequestBytes: units.MiB, MaxDecodedBytes: 64 * units.MiB}},
		{name: "both set", in: "max_request_bytes: 4MiB\nmax_decoded_bytes: 16MiB", want: Config{MaxRequestBytes: 4 * units.MiB, MaxDecodedBytes: 16 * units.MiB}},
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

func TestConfigUnderLimitsKey(t *testing.T) {
	var top struct {
		Limits Config `yaml:"limits"`
	}
	if err := yaml.UnmarshalStrict([]byte("limits:\n  max_decoded_bytes: 128MiB\n"), &top); err != nil {
		t.Fatal(err)
	}
	want := Config{MaxRequestBytes: 32 * units.MiB, MaxDecodedBytes: 128 * units.MiB}
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
