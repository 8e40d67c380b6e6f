package influxtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds the wait for /ping after starting influxd. 1.6
	// usually answers within one or two seconds; the margin covers a loaded
	// machine running several test binaries at once.
	startTimeout = 30 * time.Second
	// stopTimeout is how long influxd may take to shut down after SIGTERM
	// before it is killed.
	stopTimeout = 10 * time.Second
	// startAttempts is how often Start picks new ports when influxd exits
	// during startup, which happens when another process took a port between
	// choosing it and influxd binding it.
	startAttempts = 3
	// logTailLines is how much of the influxd log a failed test prints.
	logTailLines = 40
)

// errExited reports that influxd ended before it answered /ping.
var errExited = errors.New("influxd exited during startup")

// Server is one influxd process owned by a test. Its methods are safe for
// concurrent use, but Stop, Kill, Restart, Pause and Resume are meant to be
// called from the test goroutine.
type Server struct {
	t          testing.TB
	bin        string
	dir        string
	configPath string
	logPath    string
	httpAddr   string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
}

// Start runs a new influxd on free loopback ports with its data in
// t.TempDir() and returns once it answers /ping. The server is stopped when
// the test ends; if the test failed, the tail of the influxd log is printed.
// Start skips the test in -short mode and fails it when influxd is missing.
func Start(t testing.TB) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping InfluxDB integration test in -short mode")
	}
	bin, err := findInfluxd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{t: t, bin: bin, dir: dir, logPath: filepath.Join(dir, "influxd.log")}
	t.Cleanup(s.cleanup)

	for attempt := 1; ; attempt++ {
		err = s.configure()
		if err == nil {
			err = s.start()
		}
		if err == nil {
			return s
		}
		if !errors.Is(err, errExited) || attempt == startAttempts {
			t.Fatalf("cannot start influxd (attempt %d): %v\n%s", attempt, err, s.logTail())
		}
	}
}

// findInfluxd looks for influxd in PATH, then where the Debian package puts it.
func findInfluxd() (string, error) {
	if p, err := exec.LookPath("influxd"); err == nil {
		return p, nil
	}
	const debian = "/usr/bin/influxd"
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	return "", errors.New("influxd not found: install the Debian package influxdb (scripts/test.sh does)")
}

// configure picks free ports and writes the configuration for them.
func (s *Server) configure() error {
	httpAddr, err := freeAddr()
	if err != nil {
		return err
	}
	rpcAddr, err := freeAddr()
	if err != nil {
		return err
	}
	path, err := writeConfig(s.dir, httpAddr, rpcAddr)
	if err != nil {
		return err
	}
	s.configPath, s.httpAddr = path, httpAddr
	return nil
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("cannot find a free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// start runs influxd with the current configuration and waits until it
// answers /ping, exits, or startTimeout passes.
func (s *Server) start() error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open influxd log: %w", err)
	}
	// The log is appended to across restarts; only this run's part counts.
	logStart, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		logFile.Close()
		return fmt.Errorf("cannot open influxd log: %w", err)
	}
	cmd := exec.Command(s.bin, "run", "-config", s.configPath)
	cmd.Dir = s.dir
	cmd.Env = cleanEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A process group of its own lets Stop and Pause signal influxd without
	// touching the test binary, and keeps a Ctrl-C in the terminal from
	// racing the cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("cannot run %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("%w: %s", errExited, cmd.ProcessState)
		default:
		}
		// Another process may have taken the port after freeAddr released
		// it, even another test's influxd, which would answer /ping too.
		// Only our own log proves that this influxd listens.
		if s.logShowsListening(logStart) {
			resp, err := client.Get(s.URL() + "/ping")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusNoContent {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			_ = s.stop()
			return fmt.Errorf("influxd did not answer %s/ping within %s", s.URL(), startTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logShowsListening reports whether the log written since offset shows
// influxd listening on the HTTP address.
func (s *Server) logShowsListening(offset int64) bool {
	f, err := os.Open(s.logPath)
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, offset, 1<<30))
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.Contains(line, []byte(`msg="Listening on HTTP"`)) && bytes.Contains(line, []byte("addr="+s.httpAddr)) {
			return true
		}
	}
	return false
}

// cleanEnv drops INFLUXDB_* variables, which influxd reads as configuration
// overrides and which would make tests depend on the caller's environment.
func cleanEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "INFLUXDB_") {
			out = append(out, kv)
		}
	}
	return out
}

// URL returns the base URL of the HTTP API, e.g. http://127.0.0.1:41234.
// It stays the same across Restart.
func (s *Server) URL() string {
	return "http://" + s.httpAddr
}

// Stop ends influxd (SIGTERM, then SIGKILL after a grace period) and returns
// once the process is gone and its port is closed. Data is kept for Restart.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.stop(); err != nil {
		s.t.Fatalf("cannot stop influxd: %v\n%s", err, s.logTail())
	}
}

func (s *Server) stop() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	pgid := -cmd.Process.Pid
	// A stopped process would hold SIGTERM pending forever.
	_ = syscall.Kill(pgid, syscall.SIGCONT)
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		return s.kill(cmd, exited)
	}
	return s.waitPortClosed()
}

// Kill ends influxd at once with SIGKILL, as a crash or the OOM killer
// would: no graceful shutdown, no final flush of caches, connections in
// flight are reset. It returns once the process is gone and its port is
// closed. Data acknowledged before the kill is in the WAL, which the next
// Restart replays.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatal("cannot kill influxd: it is not running")
	}
	if err := s.kill(cmd, exited); err != nil {
		s.t.Fatalf("cannot kill influxd: %v", err)
	}
}

// kill sends SIGKILL to the process group of cmd and waits for the process
// to be reaped and its port to close. SIGKILL ends stopped processes too.
func (s *Server) kill(cmd *exec.Cmd, exited <-chan struct{}) error {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		return fmt.Errorf("influxd (pid %d) did not exit after SIGKILL", cmd.Process.Pid)
	}
	return s.waitPortClosed()
}

// waitPortClosed waits until the HTTP port refuses connections. The process
// is gone, so the kernel has closed its listener; a dial confirms it before
// callers test "InfluxDB down".
func (s *Server) waitPortClosed() error {
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("tcp", s.httpAddr, 100*time.Millisecond)
		if err != nil {
			return nil
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("port %s still accepts connections after influxd exited", s.httpAddr)
}

// Restart stops influxd if it runs and starts it again on the same port with
// the same data directory. After Kill it is the recovery of a crashed
// server: influxd replays its WAL before it answers /ping.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("cannot restart influxd: %v\n%s", err, s.logTail())
	}
}

// Pause freezes influxd with SIGSTOP: connections are accepted by the kernel
// but never answered, which is how a hung server looks to a client. It
// returns once every thread of influxd has stopped, because a thread busy on
// another CPU stops a little after the signal is sent.
func (s *Server) Pause() {
	s.t.Helper()
	pid := s.signal(syscall.SIGSTOP)
	deadline := time.Now().Add(5 * time.Second)
	for !allThreadsStopped(pid) {
		if time.Now().After(deadline) {
			s.t.Fatalf("influxd (pid %d) did not stop within 5s of SIGSTOP", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// allThreadsStopped reports whether every thread of pid is in state T
// (stopped) according to /proc. Without /proc it trusts the signal.
func allThreadsStopped(pid int) bool {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		return true
	}
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended
		}
		// The state follows the command name, which is in parentheses and
		// may itself contain spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) {
			return false
		}
		if state := b[i+2]; state != 'T' && state != 't' {
			return false
		}
	}
	return true
}

// Resume continues a paused influxd with SIGCONT.
func (s *Server) Resume() {
	s.t.Helper()
	s.signal(syscall.SIGCONT)
}

// signal sends sig to influxd's process group and returns influxd's pid.
func (s *Server) signal(sig syscall.Signal) int {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatalf("cannot send %s: influxd is not running", sig)
		return 0
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		s.t.Fatalf("cannot send %s to influxd: %v", sig, err)
	}
	return cmd.Process.Pid
}

// cleanup stops influxd at the end of the test and shows why it may have
// misbehaved.
func (s *Server) cleanup() {
	if err := s.stop(); err != nil {
		s.t.Errorf("cannot stop influxd: %v", err)
	}
	if s.t.Failed() {
		s.t.Logf("influxd log (%s):\n%s", s.logPath, s.logTail())
	}
}

// logTail returns the last lines of the influxd log.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no influxd log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
