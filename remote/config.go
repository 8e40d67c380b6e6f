package remote

import (
	"errors"

	"github.com/alecthomas/units"
)

// Config limits the requests remote decodes. It is the `limits` section of the configuration.
type Config struct {
	// MaxRequestBytes bounds the compressed body as received on the wire.
	MaxRequestBytes units.Base2Bytes `yaml:"max_request_bytes"`
	// MaxDecodedBytes bounds the body after snappy decompression. It is checked
	// against the length announced in the snappy header before any decoding,
	// so a small body claiming a huge decoded size costs nothing.
	MaxDecodedBytes units.Base2Bytes `yaml:"max_decoded_bytes"`
}

// DefaultConfig holds the limits used when the configuration does not set them.
//
// Prometheus sends at most max_samples_per_send (2000 by default) samples per
// request, a few hundred KiB compressed even with long label sets, so 32 MiB
// leaves room for large batches and metadata-heavy requests while still
// bounding the memory one request can pin. Remote-write payloads are highly
// repetitive and snappy typically shrinks them 4-10x; 64 MiB decoded allows
// ordinary ratios for requests near the compressed limit and rejects
// decompression bombs.
var DefaultConfig = Config{
	MaxRequestBytes: 32 * units.MiB,
	MaxDecodedBytes: 64 * units.MiB,
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
	return nil
}
