package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/prompb"
)

// root is the module root, where main.go and the files shipped with
// promflux are; go test runs a package's tests in its own directory.
const root = ".."

// promfluxBin is the binary built from this checkout by TestMain: the
// end-to-end tests run exactly what operators run.
var promfluxBin string

// TestMain builds the promflux binary once for every test of the package,
// with the race detector when the tests run with it. Under -short it builds
// nothing and runs no test: every test here needs the binary or a real
// server.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipping the end-to-end tests in -short mode")
		os.Exit(0)
	}
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "promflux-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	promfluxBin = filepath.Join(dir, "promflux")
	args := []string{"build", "-o", promfluxBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cannot build promflux: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// requireEnv names the environment variable that, set to 1, makes a test
// fail instead of skipping when a program it needs is missing:
// scripts/test.sh sets it, so that its run never passes without them.
const requireEnv = "PROMFLUX_E2E_REQUIRE"

// lookPath returns the path of the program name, which a Debian package
// installs (prometheus: prometheus and promtool; nginx). When it is not on
// PATH the test is skipped, or fails when PROMFLUX_E2E_REQUIRE=1.
func lookPath(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	pkg := map[string]string{"promtool": "prometheus"}[name]
	if pkg == "" {
		pkg = name
	}
	msg := fmt.Sprintf("%s not found: install the Debian package %s (scripts/install-deps.sh does)", name, pkg)
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s; %s=1 requires it", msg, requireEnv)
	}
	t.Skipf("%s; skipping (%s=1 makes this a failure)", msg, requireEnv)
	return ""
}

// process is a server started by a test, stopped when the test ends.
type process struct {
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	addr string // host:port it listens on
}

// startProcess runs bin with args, with its output captured, and waits
// until readyPath on addr answers 200. The process gets SIGTERM at the end
// of the test; its output is printed when the test failed.
func startProcess(t *testing.T, name, addr, readyPath, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, addr: addr, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	if readyPath == "" {
		return p
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited during startup:\n%s", name, p.output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not become ready on %s:\n%s", name, addr, p.output())
		}
	}
}

// stop sends SIGTERM and waits, killing the process group after 15s.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *process) output() string { return p.out.String() }

// syncBuffer collects a process's stdout and stderr, which exec copies from
// two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// startPromflux writes config into a temporary file and runs the promflux
// binary on a free port with it.
func startPromflux(t *testing.T, config string, extraArgs ...string) *process {
	t.Helper()
	path := filepath.Join(t.TempDir(), "promflux.yml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	args := append([]string{"--config.file=" + path, "--web.listen-address=" + addr, "--log.level=debug"}, extraArgs...)
	ready := "/-/healthy"
	for _, a := range extraArgs {
		if strings.HasPrefix(a, "--web.config.file") {
			ready = "" // TLS or auth: the test checks readiness itself
		}
	}
	return startProcess(t, "promflux", addr, ready, promfluxBin, args...)
}

// influxConfig is a promflux configuration with one database.
func influxConfig(influxURL, database string) string {
	return fmt.Sprintf(`databases:
  - name: default
    url: %s
    database: %s
    create_database: true
    pool: {timeout: 3s}
`, influxURL, database)
}

// freeAddr returns a loopback address for a child process to listen on.
// The port is free when chosen, and the child binds it only later: a port
// from the kernel's ephemeral range could meanwhile go to a listener on
// port 0 (httptest, influxtest) or to an outgoing connection, and a
// stranger could then answer the child's readiness check. So the port is
// picked below that range, where the kernel hands out none, and never
// twice in one test binary.
func freeAddr(t *testing.T) string {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	lowest, end := 20000, ephemeralStart()
	for range 1000 {
		port := lowest + rand.IntN(end-lowest)
		if ports.given[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // another service listens there
		}
		l.Close()
		ports.given[port] = true
		return l.Addr().String()
	}
	t.Fatalf("no free port between %d and %d", lowest, end)
	return ""
}

// ports holds the ports freeAddr handed out.
var ports = struct {
	sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}

// ephemeralStart is the first port of the kernel's ephemeral range, or
// Linux's default (32768) when that range starts too low to leave room
// below it.
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 21000 {
		return 32768
	}
	return n
}

// encodeV1 returns the snappy-compressed RW 1.0 body of series.
func encodeV1(t *testing.T, series ...prompb.TimeSeries) []byte {
	t.Helper()
	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: series})
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

// postWrite sends an RW 1.0 body to url and returns the status and body.
func postWrite(ctx context.Context, client *http.Client, url string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, strings.TrimSpace(b.String()), nil
}

// startHistogramTarget serves a native histogram, demo_latency_seconds,
// observed every 20 ms until the test ends, and returns the target's
// host:port. With exemplars, every observation carries one (trace_id)
// and the target speaks OpenMetrics, which carries them.
func startHistogramTarget(t *testing.T, exemplars bool) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "demo_latency_seconds", Help: "A native histogram.", NativeHistogramBucketFactor: 1.1,
	})
	reg.MustRegister(h)
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				v := float64(i%50) / 100
				if exemplars {
					h.(prometheus.ExemplarObserver).ObserveWithExemplar(v, prometheus.Labels{"trace_id": strconv.Itoa(i)})
				} else {
					h.Observe(v)
				}
			}
		}
	}()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: exemplars}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestFreeAddrBelowEphemeralRange: the ports handed to child processes are
// below the kernel's ephemeral range and never handed out twice.
func TestFreeAddrBelowEphemeralRange(t *testing.T) {
	end := ephemeralStart()
	seen := map[int]bool{}
	for range 200 {
		addr := freeAddr(t)
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, err := strconv.Atoi(p)
		if err != nil || port >= end || seen[port] {
			t.Fatalf("freeAddr gave %s: want a port below %d not given before", addr, end)
		}
		seen[port] = true
	}
}
