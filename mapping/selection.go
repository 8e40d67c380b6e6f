package mapping

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/internal/oneline"
)

// queryError reports a remote-read query that cannot be answered as sent:
// a matcher Prometheus itself would refuse, or a query without a selective
// matcher. The caller should answer with a client error.
type queryError struct {
	// Matcher is the offending matcher in PromQL form, quoted safely and
	// truncated, or "" when the query as a whole is refused.
	Matcher string
	// Reason says what is wrong.
	Reason string
}

// Error implements error: "invalid matcher <Matcher>: <Reason>", or
// "invalid query: <Reason>" without a matcher.
func (e *queryError) Error() string {
	if e.Matcher == "" {
		return "invalid query: " + e.Reason
	}
	return "invalid matcher " + e.Matcher + ": " + e.Reason
}

// Selection is one remote-read query (matchers and inclusive millisecond
// time range) translated for InfluxDB. It is immutable and safe for
// concurrent use.
type Selection struct {
	matchers   []*labels.Matcher
	start, end int64

	// Precomputed parts of the InfluxQL statements.
	from      fromClause
	prefilter string // tag conditions joined by AND, "" for none
	timeCond  string // "time >= <ns> AND time <= <ns>"
}

// NewSelection validates and compiles q's matchers with Prometheus
// semantics (labels.NewMatcher). A query without matchers, with a matcher
// Prometheus refuses (bad regex, unknown type, empty label name) or whose
// matchers all match the empty string (as Prometheus refuses such
// selectors) is refused with a *queryError, to answer with a client error.
func NewSelection(q *prompb.Query) (*Selection, error) {
	if q == nil || len(q.Matchers) == 0 {
		return nil, &queryError{Reason: "no matchers, at least one is required"}
	}
	ms := make([]*labels.Matcher, 0, len(q.Matchers))
	selective := false
	for _, pm := range q.Matchers {
		m, err := toMatcher(pm)
		if err != nil {
			return nil, err
		}
		if !m.Matches("") {
			selective = true
		}
		ms = append(ms, m)
	}
	if !selective {
		return nil, &queryError{Reason: "every matcher matches the empty string, at least one must not (like a PromQL selector): " + formatMatchers(ms)}
	}
	s := &Selection{
		matchers: ms,
		start:    q.StartTimestampMs,
		end:      q.EndTimestampMs,
		from:     newFromClause(ms),
		timeCond: fmt.Sprintf("time >= %d AND time <= %d", nanoTime(q.StartTimestampMs), nanoTime(q.EndTimestampMs)),
	}
	s.prefilter = tagPrefilter(ms)
	return s, nil
}

// toMatcher converts a wire matcher with labels.NewMatcher.
func toMatcher(pm *prompb.LabelMatcher) (*labels.Matcher, error) {
	var t labels.MatchType
	switch pm.Type {
	case prompb.LabelMatcher_EQ:
		t = labels.MatchEqual
	case prompb.LabelMatcher_NEQ:
		t = labels.MatchNotEqual
	case prompb.LabelMatcher_RE:
		t = labels.MatchRegexp
	case prompb.LabelMatcher_NRE:
		t = labels.MatchNotRegexp
	default:
		return nil, &queryError{
			Matcher: quoteMatcher(pm.Name, "?", pm.Value),
			Reason:  fmt.Sprintf("unknown matcher type %d", pm.Type),
		}
	}
	if pm.Name == "" {
		return nil, &queryError{Matcher: quoteMatcher(pm.Name, t.String(), pm.Value), Reason: "empty label name"}
	}
	m, err := labels.NewMatcher(t, pm.Name, pm.Value)
	if err != nil {
		return nil, &queryError{Matcher: quoteMatcher(pm.Name, t.String(), pm.Value), Reason: oneline.Of(err.Error())}
	}
	return m, nil
}

// quoteMatcher renders a matcher for an error message, safe to print.
func quoteMatcher(name, op, value string) string {
	var b strings.Builder
	writeName(&b, name)
	b.WriteString(op)
	fmt.Fprintf(&b, "%q", truncate(value, maxQuotedLen))
	return b.String()
}

func formatMatchers(ms []*labels.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = quoteMatcher(m.Name, m.Type.String(), m.Value)
	}
	return truncate("{"+strings.Join(parts, ", ")+"}", 4*maxQuotedLen)
}

// Matchers returns the compiled matchers, in the order of the query. They
// must not be modified.
func (s *Selection) Matchers() []*labels.Matcher { return s.matchers }

// Start returns the first millisecond of the time range, inclusive.
func (s *Selection) Start() int64 { return s.start }

// End returns the last millisecond of the time range, inclusive.
func (s *Selection) End() int64 { return s.end }

// Matches applies the matchers, as Prometheus would, to decoded labels: a
// label the series lacks matches as the empty string.
func (s *Selection) Matches(lbls labels.Labels) bool {
	for _, m := range s.matchers {
		if !m.Matches(lbls.Get(m.Name)) {
			return false
		}
	}
	return true
}
