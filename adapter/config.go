package adapter

import (
	"errors"
	"fmt"
	"os"

	"go.yaml.in/yaml/v2"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/remote"
)

// Config is the whole promflux configuration file. Each section belongs to
// the package that uses it; Config only composes them and checks what spans
// sections (route targets, unique database names).
type Config struct {
	// Databases are the InfluxDB databases promflux writes to, each served by
	// its own worker pool.
	Databases []influxworker.Config `yaml:"databases"`
	// Routes send series to databases by PromQL series selector; the first
	// match wins.
	Routes []mapping.Route `yaml:"routes,omitempty"`
	// DefaultDatabase receives the series no route matched. It may be left
	// out when exactly one database is configured.
	DefaultDatabase string `yaml:"default_database,omitempty"`
	// Limits bound what a single remote-write request may cost.
	Limits remote.Config `yaml:"limits,omitempty"`
}

// UnmarshalYAML implements yaml.Unmarshaler: it applies the defaults of every
// section and then validates the whole configuration.
func (c *Config) UnmarshalYAML(unmarshal func(interface{}) error) error {
	type plain Config
	*c = Config{Limits: remote.DefaultConfig}
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	return c.Validate()
}

// Validate checks the references between sections. The sections validate
// themselves while they are decoded.
func (c *Config) Validate() error {
	if len(c.Databases) == 0 {
		return errors.New("databases: at least one database is required")
	}
	names := make(map[string]bool, len(c.Databases))
	for i, db := range c.Databases {
		if err := db.Validate(); err != nil {
			if db.Name == "" {
				return fmt.Errorf("databases[%d]: %w", i, err)
			}
			return fmt.Errorf("databases[%d] (name %q): %w", i, db.Name, err)
		}
		if names[db.Name] {
			return fmt.Errorf("databases[%d]: duplicate name %q", i, db.Name)
		}
		names[db.Name] = true
	}
	if c.DefaultDatabase == "" {
		if len(c.Databases) > 1 {
			return errors.New("default_database is required when more than one database is configured")
		}
		c.DefaultDatabase = c.Databases[0].Name
	}
	if !names[c.DefaultDatabase] {
		return fmt.Errorf("default_database: %q is not the name of a configured database", c.DefaultDatabase)
	}
	for i, r := range c.Routes {
		if !names[r.Database] {
			return fmt.Errorf("routes[%d] (match %q): database %q is not the name of a configured database", i, r.Match, r.Database)
		}
	}
	return nil
}

// LoadConfig parses a configuration document strictly: unknown keys are
// errors, so that a typo never silently falls back to a default.
func LoadConfig(data []byte) (*Config, error) {
	cfg := &Config{}
	if err := yaml.UnmarshalStrict(data, cfg); err != nil {
		return nil, err
	}
	if len(cfg.Databases) == 0 {
		// An empty document never reaches UnmarshalYAML.
		return nil, cfg.Validate()
	}
	return cfg, nil
}

// LoadConfigFile reads and parses the configuration file at path.
func LoadConfigFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config file: %w", err)
	}
	cfg, err := LoadConfig(data)
	if err != nil {
		return nil, fmt.Errorf("invalid config file %s: %w", path, err)
	}
	return cfg, nil
}
