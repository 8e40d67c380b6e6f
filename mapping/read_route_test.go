package mapping

import (
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestReadDatabases(t *testing.T) {
	r := mustRouter(t, `
- match: '{job="node", env="prod"}'
  database: node_prod
- match: '{job="node"}'
  database: node
- match: '{instance=~"db-[0-9]+"}'
  database: db
- match: '{__name__=~"go_.*"}'
  database: go
- match: '{team!="x"}'
  database: node
`, "default")
	m := labels.MustNewMatcher
	for _, tc := range []struct {
		name string
		ms   []*labels.Matcher
		want []string
	}{
		{"implied by identical matcher stops", []*labels.Matcher{m(labels.MatchEqual, "job", "node")}, []string{"node_prod", "node"}},
		{"implied first route stops at once", []*labels.Matcher{m(labels.MatchEqual, "env", "prod"), m(labels.MatchEqual, "job", "node")}, []string{"node_prod"}},
		{"disjoint equality skipped", []*labels.Matcher{m(labels.MatchEqual, "job", "api"), m(labels.MatchEqual, "team", "x")}, []string{"db", "go", "default"}},
		{"equality rejected by regex", []*labels.Matcher{m(labels.MatchEqual, "instance", "web-1"), m(labels.MatchEqual, "__name__", "up"), m(labels.MatchEqual, "team", "x")}, []string{"node_prod", "node", "default"}},
		{"equality accepted by regex is implied", []*labels.Matcher{m(labels.MatchEqual, "job", "api"), m(labels.MatchEqual, "instance", "db-1")}, []string{"db"}},
		{"regex route implied by equality on name", []*labels.Matcher{m(labels.MatchEqual, "__name__", "go_goroutines"), m(labels.MatchEqual, "job", "api")}, []string{"db", "go"}},
		{"not equal on required value is disjoint", []*labels.Matcher{m(labels.MatchNotEqual, "job", "node"), m(labels.MatchEqual, "team", "x")}, []string{"db", "go", "default"}},
		{"absent label disjoint with equality", []*labels.Matcher{m(labels.MatchEqual, "job", ""), m(labels.MatchEqual, "team", "x"), m(labels.MatchEqual, "instance", "")}, []string{"go", "default"}},
		{"regex against regex is not disjoint", []*labels.Matcher{m(labels.MatchRegexp, "instance", "web-.*")}, []string{"node_prod", "node", "db", "go", "default"}},
		{"database listed once", []*labels.Matcher{m(labels.MatchEqual, "up", "x")}, []string{"node_prod", "node", "db", "go", "default"}},
		{"last route implied skips default", []*labels.Matcher{m(labels.MatchEqual, "team", "y"), m(labels.MatchEqual, "job", "api"), m(labels.MatchEqual, "instance", "")}, []string{"go", "node"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.ReadDatabases(tc.ms); !slices.Equal(got, tc.want) {
				t.Errorf("ReadDatabases() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadDatabasesNoRoutes(t *testing.T) {
	r, err := NewRouter(nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ReadDatabases([]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")}); !slices.Equal(got, []string{"default"}) {
		t.Errorf("ReadDatabases() = %v, want [default]", got)
	}
}
