package remote

import (
	"errors"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
)

// Config limits the requests remote decodes. It is the `limits` section of the configuration.
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
}

// DefaultConfig holds the limits used when the configuration does not set them.
//
// Prometheus sends at most max_samples_per_send (2000 by default) samples per
// request, a few hundred KiB compressed even with long label sets, so 32 MiB
// leaves room for large batches and metadata-heavy requests while still
// bounding the memory one request can pin. Remote-write payloads are highly
// repetitive and snappy typically shrinks them 4-10x; 64 MiB decoded allows
// ordinary ratios for requests near the compressed limit and rejects
// decompression bombs. The body timeout and rate are the defaults of
// Apache's mod_reqtimeout (body=20,MinRate=500): a remote-write body of a
// few hundred KiB arrives within them over any link Prometheus can use.
var DefaultConfig = Config{
	MaxRequestBytes: 32 * units.MiB,
	MaxDecodedBytes: 64 * units.MiB,
	BodyTimeout:     model.Duration(20 * time.Second),
	MinBodyRate:     500,
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
	return nil
}
