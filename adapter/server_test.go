package adapter

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestReload: POST /-/reload applies a changed file; an invalid file is
// refused and the running configuration kept.
func TestReload(t *testing.T) {
	first, second := newFakeInflux(t), newFakeInflux(t)
	srv, ts := startAdapter(t, fakeConfig(first.URL))
	rewrite := func(config string) {
		if err := os.WriteFile(srv.configFile, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	rewrite(fakeConfig(second.URL))
	if r := post(t, ts.URL+"/-/reload", "", "", nil); r.status != http.StatusOK {
		t.Fatalf("reload: %d %s", r.status, r.body)
	}
	if r := writeV1(t, ts.URL+"/api/v1/write", upSample); r.status != http.StatusNoContent {
		t.Fatalf("write after reload: %d %s", r.status, r.body)
	}
	if len(first.written()) != 0 || len(second.written()) != 1 {
		t.Errorf("after reload the write went to the old database: first %v, second %v", first.written(), second.written())
	}
	if got := testutil.ToFloat64(srv.metrics.reloadSuccess); got != 1 {
		t.Errorf("reload success gauge = %v, want 1", got)
	}

	rewrite("databases: [{name: x, database: y}]\n")
	if r := post(t, ts.URL+"/-/reload", "", "", nil); r.status != http.StatusInternalServerError || !strings.Contains(r.body, "url is required") {
		t.Fatalf("invalid reload: %d %q, want 500 naming the key", r.status, r.body)
	}
	if got := testutil.ToFloat64(srv.metrics.reloadSuccess); got != 0 {
		t.Errorf("reload success gauge = %v after a failed reload, want 0", got)
	}
	if r := writeV1(t, ts.URL+"/api/v1/write", upSample); r.status != http.StatusNoContent || len(second.written()) != 2 {
		t.Fatalf("the running configuration was not kept: %d %s", r.status, r.body)
	}
}

// TestReloadForgetsRemovedDatabase: the metrics of a database that a reload
// removed are no longer exported (a stale promflux_influxdb_up would keep an
// alert firing); those of the databases kept are.
func TestReloadForgetsRemovedDatabase(t *testing.T) {
	fake := newFakeInflux(t)
	twoDBs := fmt.Sprintf("databases:\n  - {name: gone, url: %q, database: a}\n  - {name: kept, url: %q, database: b}\ndefault_database: kept\n", fake.URL, fake.URL)
	srv, ts := startAdapter(t, twoDBs)
	if r, err := http.Get(ts.URL + "/-/ready"); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("/-/ready: %v %v", r, err)
	}
	if m := get(t, ts.URL+"/metrics"); !strings.Contains(m, `promflux_influxdb_up{database="gone"} 1`) {
		t.Fatalf("before the reload: no up series of database gone:\n%s", grepLines(m, "promflux_influxdb_up"))
	}
	if err := os.WriteFile(srv.configFile, []byte(fmt.Sprintf("databases:\n  - {name: kept, url: %q, database: b}\n", fake.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := post(t, ts.URL+"/-/reload", "", "", nil); r.status != http.StatusOK {
		t.Fatalf("reload: %d %s", r.status, r.body)
	}
	m := get(t, ts.URL+"/metrics")
	if strings.Contains(m, `database="gone"`) {
		t.Errorf("after the reload, series of the removed database remain:\n%s", grepLines(m, `database="gone"`))
	}
	if !strings.Contains(m, `promflux_influxdb_up{database="kept"} 1`) {
		t.Errorf("after the reload, the kept database lost its up series:\n%s", grepLines(m, "promflux_influxdb_up"))
	}
}

// TestReadyRequire: /-/ready with one database up and one down is 503
// with ready.require: all (the default) and 200 with any, each body giving
// both databases' state; with none up, any is 503 too.
func TestReadyRequire(t *testing.T) {
	up := newFakeInflux(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there any more
	for _, tc := range []struct {
		ready      string
		urls       []string
		wantStatus int
		want       string
	}{
		{"", []string{up.URL, down.URL}, http.StatusServiceUnavailable, "not ready (ready.require: all): db0 up, db1 down ("},
		{"ready: {require: all}\n", []string{up.URL, down.URL}, http.StatusServiceUnavailable, "not ready (ready.require: all): db0 up, db1 down ("},
		{"ready: {require: any}\n", []string{up.URL, down.URL}, http.StatusOK, "promflux is ready: db0 up, db1 down ("},
		{"ready: {require: any}\n", []string{down.URL, down.URL}, http.StatusServiceUnavailable, "not ready (ready.require: any): db0 down ("},
		{"ready: {require: all}\n", []string{up.URL, up.URL}, http.StatusOK, "promflux is ready: db0 up, db1 up\n"},
	} {
		_, ts := startAdapter(t, fakeConfig(tc.urls...)+tc.ready)
		r, err := http.Get(ts.URL + "/-/ready")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != tc.wantStatus || !strings.HasPrefix(string(body), tc.want) {
			t.Errorf("%q: %d %q, want %d %q...", tc.ready, r.StatusCode, body, tc.wantStatus, tc.want)
		}
	}
	if _, err := LoadConfig([]byte(fakeConfig(up.URL) + "ready: {require: most}\n")); err == nil || !strings.Contains(err.Error(), `ready.require must be "all" or "any", got "most"`) {
		t.Errorf("ready.require: most: %v", err)
	}
}
