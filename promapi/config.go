package promapi

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// Config bounds the PromQL queries of the query API. It is the query
// section of the configuration.
type Config struct {
	// Timeout bounds a query, its wait for a turn included; a query that
	// sets a shorter timeout parameter gets that one.
	Timeout model.Duration `yaml:"timeout"`
	// MaxSamples is the most samples a query may load into memory at
	// once, as the engine counts them; the storage holds no more than
	// that either while it reads the samples of one query.
	MaxSamples int `yaml:"max_samples"`
	// MaxConcurrency is how many queries are evaluated at once; the others
	// wait for their turn within their timeout.
	MaxConcurrency int `yaml:"max_concurrency"`
	// LookbackDelta is how far back an instant selector looks for a
	// sample, when the query does not set lookback_delta.
	LookbackDelta model.Duration `yaml:"lookback_delta"`
}

// DefaultConfig holds Prometheus's own defaults: --query.timeout,
// --query.max-samples, --query.max-concurrency and
// --query.lookback-delta. A query the same Prometheus answers gets the
// same answer here, within the same bounds.
var DefaultConfig = Config{
	Timeout:        model.Duration(2 * time.Minute),
	MaxSamples:     50_000_000,
	MaxConcurrency: 20,
	LookbackDelta:  model.Duration(5 * time.Minute),
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

// Validate reports the first bound that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Timeout <= 0:
		return fmt.Errorf("query.timeout must be > 0, got %s", c.Timeout)
	case c.MaxSamples <= 0:
		return fmt.Errorf("query.max_samples must be > 0, got %d", c.MaxSamples)
	case c.MaxConcurrency <= 0:
		return fmt.Errorf("query.max_concurrency must be > 0, got %d", c.MaxConcurrency)
	case c.LookbackDelta <= 0:
		return fmt.Errorf("query.lookback_delta must be > 0, got %s", c.LookbackDelta)
	}
	return nil
}
