package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// startNginx runs nginx in the foreground with the shipped snippet
// docs/nginx/promflux.conf, its listen address and replicas replaced by
// addr and replicas.
func startNginx(t *testing.T, addr string, replicas ...string) *process {
	t.Helper()
	bin := lookPath(t, "nginx")
	snippet, err := os.ReadFile(filepath.Join(root, "docs", "nginx", "promflux.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.Replace(string(snippet), "listen 127.0.0.1:9200;", "listen "+addr+";", 1)
	for i, shipped := range []string{"127.0.0.1:9201", "127.0.0.1:9202"} {
		if !strings.Contains(conf, "server "+shipped) {
			t.Fatalf("docs/nginx/promflux.conf names no replica %s", shipped)
		}
		conf = strings.Replace(conf, "server "+shipped, "server "+replicas[i], 1)
	}
	dir := t.TempDir()
	// The worker processes run as this user: root's would be nobody, who
	// cannot write to the test's directory.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	main := fmt.Sprintf(`%s
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/promflux.conf;
}
`, user, dir)
	writeFile(t, filepath.Join(dir, "promflux.conf"), []byte(conf))
	writeFile(t, filepath.Join(dir, "nginx.conf"), []byte(main))
	return startProcess(t, "nginx", addr, "/-/healthy", bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
}

// restart starts p again with the same program, arguments and address.
func restart(t *testing.T, p *process) *process {
	t.Helper()
	return startProcess(t, p.name, p.addr, "/-/healthy", p.cmd.Path, p.cmd.Args[1:]...)
}

// TestScaleOutBehindNginx: two promflux replicas behind nginx (the shipped
// snippet) in front of one influxd; a real Prometheus remote-writes through
// nginx, and one replica is killed with SIGKILL and restarted while the
// stream flows. Every sample Prometheus holds is in InfluxDB with its
// value, and a second Prometheus reading through nginx gets exactly the
// same samples.
func TestScaleOutBehindNginx(t *testing.T) {
	influx := influxtest.Start(t)
	cfg := influxConfig(influx.URL(), "scaleout")
	a, b := startPromflux(t, cfg), startPromflux(t, cfg)
	lbAddr := freeAddr(t)
	startNginx(t, lbAddr, a.addr, b.addr)

	promAddr := freeAddr(t)
	startWritingPrometheus(t, promAddr, lbAddr, a.addr, b.addr)
	metrics := []string{"up", "scrape_duration_seconds", "prometheus_tsdb_head_series", "promflux_samples_received_total"}
	selector := `{__name__=~"` + strings.Join(metrics, "|") + `"}[10m]`

	// Both replicas take part of the stream.
	for deadline := time.Now().Add(30 * time.Second); promMetric(t, a.addr, "promflux_samples_received_total") == 0 || promMetric(t, b.addr, "promflux_samples_received_total") == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("within 30s, nginx did not send remote writes to both replicas")
		}
	}

	// One replica dies mid-stream and comes back.
	_ = syscall.Kill(a.cmd.Process.Pid, syscall.SIGKILL)
	<-a.done
	killed := time.Now()
	time.Sleep(3 * time.Second) // several of Prometheus's batches
	a = restart(t, a)
	t.Logf("replica %s down for %s", a.addr, time.Since(killed).Round(100*time.Millisecond))
	time.Sleep(2 * time.Second) // scrapes after the restart

	until := time.Now()
	want, samples := waitNoLoss(t, promAddr, influx, "scaleout", metrics, until)
	if failed := promMetric(t, promAddr, "prometheus_remote_storage_samples_failed_total"); failed != 0 {
		t.Errorf("Prometheus dropped %.0f samples", failed)
	}
	if samples < 40 {
		t.Fatalf("Prometheus holds %d samples of %v: too few to compare", samples, metrics)
	}

	// Read back through nginx, by a Prometheus with no data of its own. A
	// scrape that started before until may be appended (and sent) after
	// want was taken: both are read again until they agree.
	readerAddr := freeAddr(t)
	startPrometheus(t, "reader", readerAddr, readerConfig(lbAddr))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		diff := compareRaw(want, promRaw(t, readerAddr, selector, until))
		if diff == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote read through nginx: %s", diff)
		}
		want = promRaw(t, promAddr, selector, until)
	}
	t.Logf("%d series, %d samples in InfluxDB and read back exactly through nginx", len(want), samples)
}
