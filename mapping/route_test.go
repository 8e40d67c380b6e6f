package mapping

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"
	"go.yaml.in/yaml/v2"
)

func mustRouter(t testing.TB, routesYAML, def string) *Router {
	t.Helper()
	var routes []Route
	if err := yaml.UnmarshalStrict([]byte(routesYAML), &routes); err != nil {
		t.Fatalf("cannot decode routes: %v", err)
	}
	r, err := NewRouter(routes, def)
	if err != nil {
		t.Fatalf("NewRouter() error = %v", err)
	}
	return r
}

func TestRouterRoute(t *testing.T) {
	r := mustRouter(t, `
- match: '{job="node", env="prod"}'
  database: node_prod
- match: '{job="node"}'
  database: node
- match: 'http_requests_total{code!="200"}'
  database: errors
- match: '{instance=~"db-[0-9]+:.*"}'
  database: db
- match: '{__name__=~"go_.*", team!~"a|b"}'
  database: go
- match: '{region=""}'
  database: no_region
- match: '{"my.metric", "a.b"="c"}'
  database: utf8
`, "default")
	for _, tc := range []struct {
		name   string
		labels []prompb.Label
		want   string
	}{
		{"first match wins", lbls("__name__", "up", "env", "prod", "job", "node", "region", "x"), "node_prod"},
		{"equality", lbls("__name__", "up", "env", "dev", "job", "node", "region", "x"), "node"},
		{"not equal", lbls("__name__", "http_requests_total", "code", "500", "region", "x"), "errors"},
		{"not equal fails on equal value", lbls("__name__", "http_requests_total", "code", "200", "region", "x"), "default"},
		{"not equal matches a missing label", lbls("__name__", "http_requests_total", "region", "x"), "errors"},
		{"regex is anchored", lbls("__name__", "up", "instance", "db-12:9104", "region", "x"), "db"},
		{"regex does not match a substring", lbls("__name__", "up", "instance", "xdb-12:9104", "region", "x"), "default"},
		{"negative regex", lbls("__name__", "go_goroutines", "team", "c", "region", "x"), "go"},
		{"negative regex excludes", lbls("__name__", "go_goroutines", "team", "a", "region", "x"), "default"},
		{"negative regex matches a missing label", lbls("__name__", "go_goroutines", "region", "x"), "go"},
		{"empty matcher matches a missing label", lbls("__name__", "up"), "no_region"},
		{"empty matcher matches an empty label", lbls("__name__", "up", "region", ""), "no_region"},
		{"UTF-8 names", lbls("__name__", "my.metric", "a.b", "c", "region", "x"), "utf8"},
		{"unmatched goes to default", lbls("__name__", "up", "region", "x"), "default"},
		{"no labels", nil, "no_region"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Route(tc.labels); got != tc.want {
				t.Errorf("Route() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRouteUnmarshalYAMLErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"invalid selector", `{match: '{job=}', database: x}`, `match: invalid series selector "{job=}": `},
		{"unbalanced brace", `{match: '{job="a"', database: x}`, `match: invalid series selector "{job=\"a\""`},
		{"empty selector", `{match: '{}', database: x}`, `match: series selector "{}" has no matchers`},
		{"missing database", `{match: '{job="a"}'}`, "database is required"},
		{"missing match", `{database: x}`, "match is required"},
		{"unknown key", `{match: '{job="a"}', database: x, db: y}`, "field db not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Route
			err := yaml.UnmarshalStrict([]byte(tc.in), &r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRouteMatchers(t *testing.T) {
	var r Route
	if err := yaml.UnmarshalStrict([]byte(`{match: 'up{job=~"a.*"}', database: x}`), &r); err != nil {
		t.Fatal(err)
	}
	ms := r.matchers
	if len(ms) != 2 {
		t.Fatalf("matchers = %v, want 2", ms)
	}
	got := ms[0].String() + " " + ms[1].String()
	if !strings.Contains(got, `job=~"a.*"`) || !strings.Contains(got, `__name__="up"`) {
		t.Errorf("matchers = %s", got)
	}
}

func TestNewRouter(t *testing.T) {
	if _, err := NewRouter(nil, ""); err == nil || err.Error() != "default database is required" {
		t.Errorf("empty default database: error = %v", err)
	}
	// Routes built in code are parsed by NewRouter.
	r, err := NewRouter([]Route{{Match: `{job="a"}`, Database: "a"}}, "d")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Route(lbls("job", "a")); got != "a" {
		t.Errorf("Route() = %q, want a", got)
	}
	if len(r.routes) != 1 || r.routes[0].matchers == nil || r.defaultDatabase != "d" {
		t.Errorf("routes = %+v, defaultDatabase = %q", r.routes, r.defaultDatabase)
	}
	_, err = NewRouter([]Route{{Match: `{job="a"}`, Database: "a"}, {Match: `{job=`, Database: "b"}}, "d")
	if err == nil || !strings.HasPrefix(err.Error(), `routes[1]: match: invalid series selector "{job="`) {
		t.Errorf("bad route: error = %v", err)
	}
	if _, err = NewRouter([]Route{{Match: `{job="a"}`}}, "d"); err == nil || err.Error() != "routes[0]: database is required" {
		t.Errorf("route without database: error = %v", err)
	}
}

func TestRouterRouteAllocs(t *testing.T) {
	r := benchRouter(t)
	ls := nodeExporterLabels()
	if allocs := testing.AllocsPerRun(100, func() { r.Route(ls) }); allocs != 0 {
		t.Errorf("Route allocates %.1f times per call", allocs)
	}
}

func benchRouter(t testing.TB) *Router {
	return mustRouter(t, `
- match: '{job="kubelet", namespace=~"kube-.*"}'
  database: k8s
- match: '{__name__=~"mysql_.*|pg_.*"}'
  database: databases
- match: '{env!="production", team="platform"}'
  database: staging
- match: '{mountpoint="/var/lib/docker"}'
  database: docker
`, "prometheus")
}
