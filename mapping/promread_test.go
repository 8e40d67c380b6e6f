package mapping

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

func TestPromReadQuery(t *testing.T) {
	s := mustSelection(t, pm(eq, "__name__", "up"))
	for _, tc := range []struct {
		name string
		tags []map[string]string
		want string
	}{
		{"no series", nil, `[__name__="~m"]`},
		{"one series", []map[string]string{{"job": "a", "instance": "x:1"}}, `[__name__="~m" instance="x:1" job="a"]`},
		{"values of a key", []map[string]string{{"job": "a", "cpu": "1"}, {"job": "a", "cpu": "10"}, {"job": "a", "cpu": "1"}}, `[__name__="~m" cpu=~"^(?:1|10)$" job="a"]`},
		{"quoted", []map[string]string{{"path": "/a.b"}, {"path": "(c)"}}, `[__name__="~m" path=~"^(?:\\(c\\)|/a\\.b)$"]`},
		{"key some series lack", []map[string]string{{"job": "a", "zone": "z"}, {"job": "b"}}, `[__name__="~m" job=~"^(?:a|b)$"]`},
		{"reserved keys", []map[string]string{{"__name__": "up", "_field": "f", "_measurement": "m", "job": "a"}}, `[__name__="~m" job="a"]`},
		{"invalid UTF-8", []map[string]string{{"job": "a\xff"}}, `[__name__="~m"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := s.PromReadQuery("~m", tc.tags)
			if got := formatPromMatchers(q.Matchers); got != tc.want {
				t.Errorf("matchers %s, want %s", got, tc.want)
			}
			if q.StartTimestampMs != 1000 || q.EndTimestampMs != 2000 {
				t.Errorf("range %d..%d, want the selection's 1000..2000", q.StartTimestampMs, q.EndTimestampMs)
			}
		})
	}
}

func formatPromMatchers(ms []*prompb.LabelMatcher) string {
	ops := map[prompb.LabelMatcher_Type]string{prompb.LabelMatcher_EQ: "=", prompb.LabelMatcher_RE: "=~"}
	out := "["
	for i, m := range ms {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s%s%q", m.Name, ops[m.Type], m.Value)
	}
	return out + "]"
}
