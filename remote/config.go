package remote

import (
	"errors"
	"fmt"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
)

// Config limits the requests remote decodes: the `limits` section of the
// configuration.
type Config struct {
	// MaxRequestBytes bounds the compressed body as received on the wire.
	MaxRequestBytes units.Base2Bytes `yaml:"max_request_bytes"`
	// MaxDecodedBytes bounds the body after snappy decompression. It is checked
	// against the length announced in the snappy header before any decoding,
	// so a small body claiming a huge decoded size costs nothing.
	MaxDecodedBytes units.Base2Bytes `yaml:"max_decoded_bytes"`
	// BodyTimeout is how long any body may take to arrive, before
	// MinBodyRate extends it (LimitBodyRate).
	BodyTimeout model.Duration `yaml:"body_timeout"`
	// MinBodyRate extends BodyTimeout by one second for every MinBodyRate
	// bytes received: a large body on a slow link arrives whole, a body
	// trickled to hold a connection is cut.
	MinBodyRate units.Base2Bytes `yaml:"min_body_rate"`

	// The limits of one decoded request; a request over one is refused
	// whole, naming it. 0 is no limit.

	// MaxSeriesPerRequest bounds the series of a remote-write request.
	MaxSeriesPerRequest int `yaml:"max_series_per_request"`
	// MaxSamplesPerSeries bounds the float and histogram samples of one
	// series of a remote-write request.
	MaxSamplesPerSeries int `yaml:"max_samples_per_series"`
	// MaxLabelsPerSeries bounds the labels of one series, its metric name
	// included.
	MaxLabelsPerSeries int `yaml:"max_labels_per_series"`
	// MaxLabelNameLength bounds a label name, in bytes.
	MaxLabelNameLength int `yaml:"max_label_name_length"`
	// MaxLabelValueLength bounds a label value, in bytes.
	MaxLabelValueLength int `yaml:"max_label_value_length"`
	// MaxQueriesPerRead bounds the queries of a remote-read request.
	MaxQueriesPerRead int `yaml:"max_queries_per_read"`
	// MaxMatchersPerQuery bounds the matchers of one remote-read query.
	MaxMatchersPerQuery int `yaml:"max_matchers_per_query"`
}

// DefaultConfig holds the limits used when the configuration does not set them.
//
// Prometheus sends at most max_samples_per_send (2000 by default) samples per
// request, a few hundred KiB compressed even with long label sets, so 32 MiB
// leaves room for a larger max_samples_per_send and metadata while bounding
// the memory one request can pin. Snappy typically shrinks remote-write
// payloads 4-10x; 64 MiB decoded allows ordinary ratios near the compressed
// limit and rejects decompression bombs. The body timeout and rate are the
// defaults of Apache's mod_reqtimeout (body=20,MinRate=500), which a body of
// a few hundred KiB meets over any link Prometheus can use.
//
// Prometheus does not bound what it sends otherwise, and a request refused
// with a 400 is dropped, so the request limits sit far above what any
// sender is configured for:
//   - series and samples per series: 50 times queue_config's default
//     max_samples_per_send (2000), which bounds both in a Prometheus
//     request;
//   - labels per series: 25 times VictoriaMetrics' -maxLabelsPerTimeseries
//     (40), which some Kubernetes series pass;
//   - label names and values: 65535 bytes, the most a 16-bit length
//     holds, far above any label a target exposes (the storage behind
//     may refuse a long series sooner; that is its caller's concern);
//   - queries per read: Prometheus's remote-read client sends one; 100;
//   - matchers per query: a selector names a few labels; 1000.
var DefaultConfig = Config{
	MaxRequestBytes:     32 * units.MiB,
	MaxDecodedBytes:     64 * units.MiB,
	BodyTimeout:         model.Duration(20 * time.Second),
	MinBodyRate:         500,
	MaxSeriesPerRequest: 100_000,
	MaxSamplesPerSeries: 100_000,
	MaxLabelsPerSeries:  1000,
	MaxLabelNameLength:  65535,
	MaxLabelValueLength: 65535,
	MaxQueriesPerRead:   100,
	MaxMatchersPerQuery: 1000,
}

// UnmarshalYAML implements yaml.Unmarshaler: unset fields keep their
// DefaultConfig values and the result is validated.
func (c *Config) UnmarshalYAML(unmarshal func(interface{}) error) error {
	*c = DefaultConfig
	type plain Config
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	return c.Validate()
}

// Validate reports the first limit that cannot work.
func (c Config) Validate() error {
	if c.MaxRequestBytes <= 0 {
		return errors.New("limits.max_request_bytes must be > 0")
	}
	if c.MaxDecodedBytes <= 0 {
		return errors.New("limits.max_decoded_bytes must be > 0")
	}
	if c.BodyTimeout <= 0 {
		return errors.New("limits.body_timeout must be > 0")
	}
	if c.MinBodyRate <= 0 {
		return errors.New("limits.min_body_rate must be > 0")
	}
	for _, l := range []struct {
		key string
		n   int
	}{
		{"max_series_per_request", c.MaxSeriesPerRequest},
		{"max_samples_per_series", c.MaxSamplesPerSeries},
		{"max_labels_per_series", c.MaxLabelsPerSeries},
		{"max_label_name_length", c.MaxLabelNameLength},
		{"max_label_value_length", c.MaxLabelValueLength},
		{"max_queries_per_read", c.MaxQueriesPerRead},
		{"max_matchers_per_query", c.MaxMatchersPerQuery},
	} {
		if l.n < 0 {
			return fmt.Errorf("limits.%s must be >= 0 (0: no limit), got %d", l.key, l.n)
		}
	}
	return nil
}
