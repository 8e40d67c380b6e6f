package mapping

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

func TestNewSelectionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    *prompb.Query
		want string
	}{
		{"nil", nil, "invalid query: no matchers"},
		{"no matchers", &prompb.Query{}, "invalid query: no matchers"},
		{"bad regex", &prompb.Query{Matchers: []*prompb.LabelMatcher{pm(re, "job", "a(b")}}, `invalid matcher job=~"a(b": error parsing regexp`},
		{"bad regex with newline", &prompb.Query{Matchers: []*prompb.LabelMatcher{pm(nre, "job", "a\n(")}}, `invalid matcher job!~"a\n(": error parsing regexp`},
		{"unknown type", &prompb.Query{Matchers: []*prompb.LabelMatcher{pm(7, "job", "a")}}, `invalid matcher job?"a": unknown matcher type 7`},
		{"empty name", &prompb.Query{Matchers: []*prompb.LabelMatcher{pm(eq, "", "a")}}, `invalid matcher ""="a": empty label name`},
		{"all match empty", &prompb.Query{Matchers: []*prompb.LabelMatcher{pm(re, "job", ".*"), pm(eq, "env", "")}}, `invalid query: every matcher matches the empty string, at least one must not (like a PromQL selector): {job=~".*", env=""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSelection(tc.q)
			var qe *queryError
			if !errors.As(err, &qe) {
				t.Fatalf("NewSelection() error = %v, want *queryError", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %q, want one line starting with %q", err, tc.want)
			}
		})
	}
}

func TestSelectionMatches(t *testing.T) {
	series := [][]prompb.Label{
		lbls("__name__", "up"),
		lbls("__name__", "up", "job", "a"),
		lbls("__name__", "up", "job", "b", "l", "x"),
		lbls("__name__", "other", "l", "x\ny"),
		lbls("__name__", "up", "value", "v"),
	}
	for _, ms := range [][]*prompb.LabelMatcher{
		{pm(eq, "__name__", "up")},
		{pm(eq, "__name__", "up"), pm(eq, "l", "")},
		{pm(eq, "__name__", "up"), pm(neq, "l", "")},
		{pm(eq, "__name__", "up"), pm(neq, "l", "x")},
		{pm(re, "__name__", ".+"), pm(re, "l", "x|")},
		{pm(re, "__name__", ".+"), pm(nre, "l", "x")},
		{pm(re, "__name__", ".+"), pm(re, "l", "x.y")},
		{pm(re, "__name__", "u"), pm(eq, "job", "a")},
		{pm(neq, "__name__", "up"), pm(re, "l", ".+")},
		{pm(eq, "value", "v")},
	} {
		s := mustSelection(t, ms...)
		for _, ls := range series {
			want := true
			for _, m := range s.Matchers() {
				v := ""
				for _, l := range ls {
					if l.Name == m.Name {
						v = l.Value
					}
				}
				want = want && m.Matches(v)
			}
			// Compare with Prometheus' own matching on labels.Labels.
			pl := labels.New(func() []labels.Label {
				var out []labels.Label
				for _, l := range ls {
					out = append(out, labels.Label{Name: l.Name, Value: l.Value})
				}
				return out
			}()...)
			prom := true
			for _, m := range s.Matchers() {
				prom = prom && m.Matches(pl.Get(m.Name))
			}
			if got := s.Matches(pl); got != want || got != prom {
				t.Errorf("%s Matches(%v) = %v, want %v", formatMatchers(s.Matchers()), ls, got, prom)
			}
		}
	}
}
