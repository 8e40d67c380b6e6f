package adapter

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestLandingPageAndConfig: GET / is a page linking promflux's endpoints,
// GET /config the running configuration without its secrets, and other
// paths are 404.
func TestLandingPageAndConfig(t *testing.T) {
	fake := newFakeInflux(t)
	config := strings.Replace(fakeConfig(fake.URL), "database: p,", "database: p, username: u, password: s3cr3t-value,", 1)
	_, ts := startAdapter(t, config)
	for _, tc := range []struct {
		path, contentType string
		status            int
		want, notWant     []string
	}{
		{"/", "text/html", http.StatusOK, []string{"promflux", `href="/api/v1/query?query=up"`, `href="/api/v1/label/__name__/values"`, `href="/metrics"`, `href="/config"`, `href="/-/ready"`, `href="/-/healthy"`, "version"}, []string{`href="/debug/pprof`}},
		{"/config", "text/yaml", http.StatusOK, []string{"databases:", "name: db0", "username: u", "password: <secret>", "default_database: db0"}, []string{"s3cr3t-value"}},
		{"/nothing", "", http.StatusNotFound, nil, nil},
	} {
		resp, err := http.Get(ts.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) {
			t.Errorf("GET %s: %d %s, want %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.contentType)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(body), w) {
				t.Errorf("GET %s lacks %q:\n%s", tc.path, w, body)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(string(body), w) {
				t.Errorf("GET %s shows %q:\n%s", tc.path, w, body)
			}
		}
	}
}
