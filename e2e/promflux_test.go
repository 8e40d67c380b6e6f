package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"golang.org/x/crypto/bcrypt"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// TestPrometheusRemoteWriteEndToEnd runs a real Prometheus that scrapes
// itself and remote-writes through the promflux binary into a real influxd,
// then compares every sample of a set of metrics that Prometheus holds in
// its own TSDB with what InfluxDB stored.
func TestPrometheusRemoteWriteEndToEnd(t *testing.T) {
	influx := influxtest.Start(t)
	pf := startPromflux(t, influxConfig(influx.URL(), "e2e"))

	promAddr := startSelfScraper(t, "prometheus", pf.addr).addr

	// Let a few scrapes happen, then fix the instant up to which Prometheus's
	// samples are compared and wait until InfluxDB holds all of them.
	const selector = `{__name__=~"up|prometheus_build_info|prometheus_http_requests_total|scrape_duration_seconds|go_gc_duration_seconds|prometheus_tsdb_head_series"}`
	deadline := time.Now().Add(60 * time.Second)
	var want map[string][][2]string
	var until time.Time
	for {
		until = time.Now().Add(-time.Second)
		want = promRaw(t, promAddr, selector+"[10m]", until)
		if n := len(want[seriesKey(map[string]string{"__name__": "up", "instance": promAddr, "job": "prometheus"})]); n >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape 5 times within a minute; it has %d series", len(want))
		}
		time.Sleep(time.Second)
	}
	for name := range map[string]bool{"up": true, "prometheus_build_info": true, "go_gc_duration_seconds": true} {
		found := false
		for k := range want {
			found = found || strings.HasPrefix(k, name+"{")
		}
		if !found {
			t.Fatalf("Prometheus has no series of %s", name)
		}
	}

	var got map[string][][2]string
	for {
		got = influxRaw(t, influx, "e2e", []string{"up", "prometheus_build_info", "prometheus_http_requests_total", "scrape_duration_seconds", "go_gc_duration_seconds", "prometheus_tsdb_head_series"}, until)
		if diff := compareRaw(want, got); diff == "" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("InfluxDB does not hold what Prometheus scraped: %s", diff)
		}
		time.Sleep(time.Second)
	}
	samples := 0
	for _, v := range want {
		samples += len(v)
	}
	t.Logf("compared %d series, %d samples: identical", len(want), samples)
}

// promRaw returns the raw samples of a range-vector query at instant at,
// keyed by series, with timestamps in milliseconds and values as Prometheus
// formats them.
func promRaw(t *testing.T, addr, query string, at time.Time) map[string][][2]string {
	t.Helper()
	out := map[string][][2]string{}
	for _, raw := range promResult(t, addr, "/api/v1/query", url.Values{"query": {query}, "time": {promTime(at)}}) {
		var r struct {
			Metric map[string]string
			Values [][2]any
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		k := seriesKey(r.Metric)
		for _, v := range r.Values {
			ms := int64(math.Round(v[0].(float64) * 1000))
			out[k] = append(out[k], [2]string{strconv.FormatInt(ms, 10), v[1].(string)})
		}
	}
	return out
}

// influxRaw reads the same shape from InfluxDB: every point of the given
// measurements up to until, keyed by series.
func influxRaw(t *testing.T, influx *influxtest.Server, db string, measurements []string, until time.Time) map[string][][2]string {
	t.Helper()
	out := map[string][][2]string{}
	for _, m := range measurements {
		q := fmt.Sprintf(`SELECT "value"::field FROM %s WHERE time <= %dms GROUP BY *`, influxtest.QuoteIdent(m), until.UnixMilli())
		for _, s := range influx.Query(t, db, q) {
			labels := map[string]string{"__name__": s.Name}
			for k, v := range s.Tags {
				if v != "" {
					labels[k] = v
				}
			}
			k := seriesKey(labels)
			for _, row := range s.Values {
				f, err := row[1].(json.Number).Float64()
				if err != nil {
					t.Fatal(err)
				}
				// Prometheus's API formats floats the same way.
				out[k] = append(out[k], [2]string{row[0].(json.Number).String(), strconv.FormatFloat(f, 'f', -1, 64)})
			}
		}
	}
	return out
}

// compareRaw returns "" when got holds exactly want's series and samples.
func compareRaw(want, got map[string][][2]string) string {
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return "missing series " + k
		}
		if fmt.Sprint(w) != fmt.Sprint(g) {
			return fmt.Sprintf("series %s: Prometheus has %d samples %v, InfluxDB %d %v", k, len(w), w, len(g), g)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return "InfluxDB has a series Prometheus does not: " + k
		}
	}
	return ""
}

func seriesKey(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for n := range labels {
		if n != "__name__" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(labels["__name__"] + "{")
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", n, labels[n])
	}
	return b.String() + "}"
}

// TestGracefulShutdownFinishesInFlightWrites sends SIGTERM while a write
// waits on a paused InfluxDB: promflux must answer it once InfluxDB is back
// and only then exit, with status 0.
func TestGracefulShutdownFinishesInFlightWrites(t *testing.T) {
	influx := influxtest.Start(t)
	influx.CreateDatabase(t, "shutdown")
	pf := startPromflux(t, strings.Replace(influxConfig(influx.URL(), "shutdown"), "timeout: 3s", "timeout: 20s", 1))
	body := encodeV1(t, prompb.TimeSeries{
		Labels:  []prompb.Label{{Name: "__name__", Value: "inflight"}, {Name: "job", Value: "t"}},
		Samples: []prompb.Sample{{Value: 42, Timestamp: 1_700_000_000_000}},
	})

	influx.Pause()
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		s, b, err := postWrite(context.Background(), http.DefaultClient, "http://"+pf.addr+"/api/v1/write", body)
		done <- result{s, b, err}
	}()
	waitMetric(t, pf.addr, `promflux_influxdb_inflight_requests{database="default"} 1`)
	if err := pf.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pf.done:
		t.Fatal("promflux exited with a request in flight")
	case <-time.After(time.Second):
	}
	influx.Resume()

	r := <-done
	if r.err != nil || r.status != http.StatusNoContent {
		t.Fatalf("in-flight write: status %d %q, err %v; want 204", r.status, r.body, r.err)
	}
	select {
	case <-pf.done:
	case <-time.After(10 * time.Second):
		t.Fatal("promflux did not exit after finishing its requests")
	}
	if code := pf.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	rows := influx.Query(t, "shutdown", `SELECT "value"::field FROM inflight`)
	if len(rows) != 1 || fmt.Sprint(rows[0].Values) != "[[1700000000000 42]]" {
		t.Fatalf("InfluxDB holds %v, want the one acknowledged sample", rows)
	}
}

// waitMetric polls /metrics until a line starts with want.
func waitMetric(t *testing.T, addr, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			for _, line := range strings.Split(readAll(resp), "\n") {
				if strings.HasPrefix(line, want) {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("metric line %q did not appear", want)
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestWebConfigTLSAndBasicAuth starts promflux with an exporter-toolkit web
// configuration: the listener speaks TLS only and requires the user.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSignedCert(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cert.pem"), certPEM)
	writeFile(t, filepath.Join(dir, "key.pem"), keyPEM)
	webConfig := filepath.Join(dir, "web.yml")
	writeFile(t, webConfig, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prom: %s\n",
		filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), hash)))

	// A fake database that counts the writes and reads reaching it.
	var reached atomic.Int64
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ping" {
			reached.Add(1)
		}
		w.Header().Set("X-Influxdb-Version", "1.6.7")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer fake.Close()
	config := strings.Replace(influxConfig(fake.URL, "x"), "create_database: true", "create_database: false", 1)
	pf := startPromflux(t, config, "--web.config.file="+webConfig)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}

	var lastErr error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var resp *http.Response
		if resp, lastErr = client.Get("https://" + pf.addr + "/-/healthy"); lastErr == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("without credentials: status %d, want 401", resp.StatusCode)
			}
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("promflux did not answer over TLS: %v", lastErr)
	}
	for _, tc := range []struct {
		user, pass string
		want       int
	}{{"prom", "wrong", http.StatusUnauthorized}, {"prom", "s3cret", http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodGet, "https://"+pf.addr+"/-/healthy", nil)
		req.SetBasicAuth(tc.user, tc.pass)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("user %s password %s: status %d, want %d", tc.user, tc.pass, resp.StatusCode, tc.want)
		}
	}
	resp, err := http.Get("http://" + pf.addr + "/-/healthy")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served although TLS is configured")
		}
	}

	// A write or a read without credentials is refused before it reaches
	// the database; with them, a write does reach it.
	write := encodeV1(t, prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "up"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: 1700000000000}}})
	rawRead, err := (&prompb.ReadRequest{Queries: []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: 1, Matchers: []*prompb.LabelMatcher{{Name: "__name__", Value: "up"}}}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	read := snappy.Encode(nil, rawRead)
	for _, tc := range []struct {
		path, user string
		body       []byte
		want       int
	}{
		{"/api/v1/write", "", write, http.StatusUnauthorized},
		{"/api/v1/read", "", read, http.StatusUnauthorized},
		{"/api/v1/write", "prom", write, http.StatusNoContent},
	} {
		req, _ := http.NewRequest(http.MethodPost, "https://"+pf.addr+tc.path, bytes.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("Content-Encoding", "snappy")
		if tc.user != "" {
			req.SetBasicAuth(tc.user, "s3cret")
		}
		before := reached.Load()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		if resp.StatusCode != tc.want {
			t.Errorf("%s as %q: %d %s, want %d", tc.path, tc.user, resp.StatusCode, body, tc.want)
		}
		if got := reached.Load() > before; got != (tc.want == http.StatusNoContent) {
			t.Errorf("%s as %q: reached the database: %v", tc.path, tc.user, got)
		}
	}
}

func selfSignedCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "promflux test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestInvalidConfigRefusesToStart runs the binary with broken configuration
// files: it must exit non-zero, naming the offending key.
func TestInvalidConfigRefusesToStart(t *testing.T) {
	const db = "databases:\n  - {name: default, url: 'http://127.0.0.1:8086', database: p}\n"
	for _, tc := range []struct {
		name, config, want string
	}{
		{"unknown key", db + "retention: 5d\n", "field retention not found"},
		{"missing url", "databases:\n  - {name: default, database: p}\n", "url"},
		{"route to undefined database", db + "routes:\n  - {match: '{job=\"x\"}', database: nope}\n", "routes[0]"},
		{"invalid selector", db + "routes:\n  - {match: '{job=}', database: default}\n", "match"},
		{"no databases", "default_database: x\n", "databases"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yml")
			writeFile(t, path, []byte(tc.config))
			for _, extra := range [][]string{nil, {"--config.check"}} {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				args := append([]string{"--config.file=" + path, "--web.listen-address=" + freeAddr(t)}, extra...)
				out, err := exec.CommandContext(ctx, promfluxBin, args...).CombinedOutput()
				cancel()
				var exitErr *exec.ExitError
				if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
					t.Fatalf("%v: want exit status 1, got %v\n%s", extra, err, out)
				}
				if !strings.Contains(string(out), tc.want) {
					t.Errorf("%v: output does not name %q:\n%s", extra, tc.want, out)
				}
			}
		})
	}
}

// TestBuildStampsVersion: scripts/build.sh stamps the version, revision and
// branch into --version and promflux_build_info.
func TestBuildStampsVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "promflux")
	build := exec.Command(filepath.Join(root, "scripts/build.sh"))
	build.Env = append(os.Environ(), "OUT="+bin, "VERSION=9.8.7-test", "REVISION=0123abc", "BRANCH=test-branch")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build.sh: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if want := "promflux, version 9.8.7-test (branch: test-branch, revision: 0123abc)"; err != nil || !strings.HasPrefix(string(out), want) {
		t.Fatalf("--version: %v\n%s\nwant it to start with %q", err, out, want)
	}
	addr := freeAddr(t)
	path := filepath.Join(t.TempDir(), "promflux.yml")
	if err := os.WriteFile(path, []byte(influxConfig("http://127.0.0.1:1", "none")), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, "promflux", addr, "/-/healthy", bin, "--config.file="+path, "--web.listen-address="+addr)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var info string
	for _, line := range strings.Split(readAll(resp), "\n") {
		if strings.HasPrefix(line, "promflux_build_info{") {
			info = line
		}
	}
	for _, want := range []string{`branch="test-branch"`, `revision="0123abc"`, `version="9.8.7-test"`} {
		if !strings.Contains(info, want) {
			t.Errorf("promflux_build_info %q lacks %s", info, want)
		}
	}
}

// TestSystemdUnit: the command line of docs/systemd/promflux.service is
// one the binary accepts, with the shipped config.yml in place of
// /etc/promflux/config.yml.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join(root, "docs/systemd/promflux.service"))
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(unit), "\n") {
		if cmd, ok := strings.CutPrefix(line, "ExecStart="); ok {
			args = strings.Fields(cmd)[1:]
		}
	}
	if len(args) == 0 {
		t.Fatal("no ExecStart in the unit")
	}
	for i, a := range args {
		args[i] = strings.Replace(a, "/etc/promflux/config.yml", "config.yml", 1)
	}
	check := exec.Command(promfluxBin, append(args, "--config.check")...)
	check.Dir = root
	out, err := check.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration is valid") {
		t.Fatalf("promflux %v --config.check: %v\n%s", args, err, out)
	}
}

// TestAlertRules: docker/alerts.yml loads, and its unit tests
// (docker/alerts_test.yml) pass, with Prometheus's own promtool.
func TestAlertRules(t *testing.T) {
	promtool := lookPath(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "docker/alerts.yml"},
		{"test", "rules", "docker/alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestComposePrometheusConfig: docker/prometheus.yml, the configuration of
// the compose stack's Prometheus 3 (Remote-Write 2.0, native histograms,
// exemplars, the alerting rules), loads in Prometheus 3's own promtool.
func TestComposePrometheusConfig(t *testing.T) {
	promtool := filepath.Join(filepath.Dir(prometheus3(t)), "promtool")
	cmd := exec.Command(promtool, "check", "config", "docker/prometheus.yml")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check config docker/prometheus.yml: %v\n%s", err, out)
	}
}
