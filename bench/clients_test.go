package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTarget answers as promflux does, /metrics with the watched gauges
// and writes with writeCode.
type fakeTarget struct {
	writeCode   int
	healthDelay time.Duration
	closeConns  bool // answer every request with Connection: close
	// dropIdle closes an idle connection of bench clients (User-Agent
	// promflux-bench) at its second request, unanswered, as a target's
	// idle timeout would have closed it.
	dropIdle bool
	writes   atomic.Int64
}

// connRequests is the key of a connection's request count in the context
// of its requests.
type connRequests struct{}

func (f *fakeTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.closeConns {
		w.Header().Set("Connection", "close")
	}
	switch r.URL.Path {
	case "/-/healthy":
		n := r.Context().Value(connRequests{}).(*atomic.Int64).Add(1)
		if f.dropIdle && r.UserAgent() == "promflux-bench" && n > 1 {
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		time.Sleep(f.healthDelay)
		fmt.Fprintln(w, "healthy")
	case "/metrics":
		fmt.Fprintf(w, "go_goroutines 12\nprocess_resident_memory_bytes %d\nprocess_open_fds 30\nprocess_max_fds 1024\npromflux_http_connections_open 25\n", 20<<20)
	case "/api/v1/write":
		f.writes.Add(1)
		w.WriteHeader(f.writeCode)
	default:
		http.NotFound(w, r)
	}
}

func runFakeClients(t *testing.T, f *fakeTarget, maxHealth time.Duration) (string, error) {
	t.Helper()
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connRequests{}, new(atomic.Int64))
	}
	srv.Start()
	t.Cleanup(srv.Close)
	o := &clientsOptions{
		url: srv.URL, idle: 20, writers: 3, duration: 300 * time.Millisecond,
		idleRefresh: 100 * time.Millisecond, healthEvery: 20 * time.Millisecond, maxHealthLatency: maxHealth,
		sampleEvery: 50 * time.Millisecond, batch: 100, bodies: 2, protocol: "1", timeout: 5 * time.Second,
	}
	var out bytes.Buffer
	err := runClients(&generator{series: 300, start: 1700000000000, interval: 15000}, o, &out)
	return out.String(), err
}

func TestClients(t *testing.T) {
	f := &fakeTarget{writeCode: http.StatusNoContent}
	out, err := runFakeClients(t, f, time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"idle_opened=20\n", "idle_open_at_end=20\n", "write_other=0\n", "health_failed=0\n", "health_over=0\n",
		fmt.Sprintf("write_204=%d\n", f.writes.Load()), "max_go_goroutines=12\n", "max_process_max_fds=1024\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if f.writes.Load() == 0 {
		t.Error("no write reached the target")
	}
}

func TestClientsFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		target    *fakeTarget
		maxHealth time.Duration
		want      string
		report    string // a regular expression the report must match, if any
	}{
		{"write answered 500", &fakeTarget{writeCode: http.StatusInternalServerError}, time.Second, "answered other than 204, 503 or 429", ""},
		{"backpressure is fine", &fakeTarget{writeCode: http.StatusServiceUnavailable}, time.Second, "", ""},
		{"slow health", &fakeTarget{writeCode: http.StatusNoContent, healthDelay: 30 * time.Millisecond}, 10 * time.Millisecond, "took longer than 10ms",
			// Each slow probe with when it was sent and how long it took:
			// at least the 30 ms the target waits, however busy the machine.
			`over 10ms, sent after the writers started: \d+\.\ds \((3\d|[4-9]\d|\d{3,}) ms\)`},
		{"idle connections closed", &fakeTarget{writeCode: http.StatusNoContent, closeConns: true}, time.Second, "idle connections could not be opened", ""},
		// Every idle connection sends a second request, at the end if not
		// before.
		{"idle connections dropped", &fakeTarget{writeCode: http.StatusNoContent, dropIdle: true}, time.Second, "20 idle connections were closed or broken", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runFakeClients(t, tc.target, tc.maxHealth)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("%v\n%s", err, out)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one saying %q\n%s", err, tc.want, out)
			}
			if !regexp.MustCompile(tc.report).MatchString(out) {
				t.Errorf("the report does not match %q:\n%s", tc.report, out)
			}
		})
	}
}

// healthyTargetEnv, set, runs the test binary as a target that answers
// every request 200 on a loopback port, which it prints, until its
// standard input ends (serveHealthyTarget).
const healthyTargetEnv = "BENCH_TEST_HEALTHY_TARGET"

// TestMain lets the test binary be the health probe's process of bench
// clients, as bench itself is, or a target of its own (healthyTargetEnv).
func TestMain(m *testing.M) {
	runAsHealthProbe()
	if os.Getenv(healthyTargetEnv) != "" {
		serveHealthyTarget()
	}
	os.Exit(m.Run())
}

func serveHealthyTarget() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "healthy") }))
	}()
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// startHealthyTarget starts the test binary as a target of its own
// (healthyTargetEnv) and returns its URL.
func startHealthyTarget(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), healthyTargetEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the target printed no address: %v", err)
	}
	return "http://" + strings.TrimSpace(addr) + "/-/healthy"
}

// TestHealthProbeOwnProcess: the health probe measures the target, not
// the process of the writers. When the writers start, hundreds of their
// goroutines become runnable at once; in their process, a goroutine the
// network readies then waits behind them, for as long as they run. Here a
// burst of 2000 goroutines that each run 0.5 ms, on one P, takes this
// process a second, and a target of its own answers the probe, from the
// probe's own process, without waiting for it.
func TestHealthProbeOwnProcess(t *testing.T) {
	url := startHealthyTarget(t)
	probe, err := startHealthProbe(url, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = probe.stop() }()

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	release := make(chan struct{})
	var burst sync.WaitGroup
	for range 2000 {
		burst.Add(1)
		go func() {
			defer burst.Done()
			<-release
			for t0 := time.Now(); time.Since(t0) < 500*time.Microsecond; {
			}
		}()
	}
	start := time.Now()
	close(release)
	burst.Wait()
	end := time.Now()
	if err := probe.stop(); err != nil {
		t.Fatal(err)
	}

	if took := end.Sub(start); took < 500*time.Millisecond {
		t.Fatalf("the burst took %v: too short to tell", took)
	}
	// The probes under way during the burst: every 20 ms, each answered
	// within a few.
	n, slowest := 0, time.Duration(0)
	for _, r := range probe.probes {
		if r.err != "" {
			t.Errorf("probe failed: %s", r.err)
		}
		if r.sent.Before(end) && r.sent.Add(r.took).After(start) {
			n, slowest = n+1, max(slowest, r.took)
		}
	}
	if n < 25 || slowest > 250*time.Millisecond {
		t.Errorf("%d probes under way during the %v burst, the slowest took %v; want 25 or more, none over 250ms: the probe waited for the writers' process",
			n, end.Sub(start).Round(time.Millisecond), slowest.Round(time.Millisecond))
	}
}

// TestProbeLine: a probe's line is read back as written, its error
// whatever its characters.
func TestProbeLine(t *testing.T) {
	for _, r := range []probeResult{
		{sent: time.Unix(0, 1700000000123456789), took: 1500 * time.Microsecond},
		{sent: time.Unix(0, 1700000000123456789), took: time.Second, err: "Get \"http://x/-/healthy\": dial tcp: refused\nsecond line"},
	} {
		line := formatProbeLine(r)
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Fatalf("line %q: want one line", line)
		}
		got, err := parseProbeLine(strings.TrimSuffix(line, "\n"))
		if err != nil || !got.sent.Equal(r.sent) || got.took != r.took || got.err != r.err {
			t.Errorf("line %q read as %+v, %v; want %+v", line, got, err, r)
		}
	}
	if _, err := parseProbeLine("12 x -"); err == nil {
		t.Error("a line without a latency was read")
	}
}
