package mapping

import (
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/promql/parser"
)

// selectorParser parses route selectors with Prometheus' default options,
// which accept quoted UTF-8 names such as {"my.metric", "a.b"="c"}.
var selectorParser = parser.NewParser(parser.Options{})

// ParseSelector parses a PromQL series selector such as `up{job="node"}`
// into its matchers, with the options routes use.
func ParseSelector(selector string) ([]*labels.Matcher, error) {
	return selectorParser.ParseMetricSelector(selector)
}

// Route sends the series matching a PromQL series selector to a database.
type Route struct {
	// Match is a series selector such as `{job="node"}` or
	// `up{env=~"prod|staging"}`.
	Match string `yaml:"match"`
	// Database is the InfluxDB database the matching series go to.
	Database string `yaml:"database"`

	// matchers is Match parsed, nil until UnmarshalYAML or NewRouter
	// compiles it.
	matchers []*labels.Matcher
}

// UnmarshalYAML implements yaml.Unmarshaler, parsing and checking Match so
// that a bad selector fails when the configuration is loaded.
func (r *Route) UnmarshalYAML(unmarshal func(interface{}) error) error {
	type plain Route
	if err := unmarshal((*plain)(r)); err != nil {
		return err
	}
	return r.compile()
}

// compile validates the route and parses its selector.
func (r *Route) compile() error {
	if r.Match == "" {
		return errors.New("match is required")
	}
	if r.Database == "" {
		return errors.New("database is required")
	}
	ms, err := selectorParser.ParseMetricSelector(r.Match)
	if err != nil {
		return fmt.Errorf("match: invalid series selector %q: %w", r.Match, err)
	}
	if len(ms) == 0 {
		// A catch-all route would shadow every later route and the default.
		return fmt.Errorf("match: series selector %q has no matchers, use the default database for all remaining series", r.Match)
	}
	r.matchers = ms
	return nil
}

// matches reports whether every matcher accepts the series; a label the
// series lacks matches as the empty string, as in Prometheus.
func (r *Route) matches(lbls []prompb.Label) bool {
	for _, m := range r.matchers {
		if !m.Matches(labelValue(lbls, m.Name)) {
			return false
		}
	}
	return true
}

func labelValue(lbls []prompb.Label, name string) string {
	for i := range lbls {
		if lbls[i].Name == name {
			return lbls[i].Value
		}
	}
	return ""
}

// Router picks the database for each series: the first route whose
// selector matches, else the default database. It is safe for concurrent
// use.
type Router struct {
	routes          []Route
	defaultDatabase string
}

// NewRouter returns a Router over routes, in order, falling back to
// defaultDatabase. It compiles routes not decoded from YAML, and does not
// check that the databases exist.
func NewRouter(routes []Route, defaultDatabase string) (*Router, error) {
	if defaultDatabase == "" {
		return nil, errors.New("default database is required")
	}
	rs := make([]Route, len(routes))
	for i, r := range routes {
		if r.matchers == nil {
			if err := r.compile(); err != nil {
				return nil, fmt.Errorf("routes[%d]: %w", i, err)
			}
		}
		rs[i] = r
	}
	return &Router{routes: rs, defaultDatabase: defaultDatabase}, nil
}

// Route returns the database for the series with the given labels. It does
// not allocate.
func (r *Router) Route(lbls []prompb.Label) string {
	for i := range r.routes {
		if r.routes[i].matches(lbls) {
			return r.routes[i].Database
		}
	}
	return r.defaultDatabase
}
