package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat: USER_HZ, which
// Linux fixes at 100 for user space on every architecture.
const userHZ = 100

// rssSampleInterval is how often VmRSS is sampled when the kernel's
// high-water mark cannot be reset.
const rssSampleInterval = 100 * time.Millisecond

// procUsage is what one local process used during a measurement.
type procUsage struct {
	Name    string
	Cores   float64 // CPU seconds per second of wall time
	PeakMiB float64 // peak resident memory
}

// procWatch measures the CPU time and peak RSS of one process from start
// to finish.
type procWatch struct {
	pid   int
	name  string
	t0    time.Time
	cpu0  float64
	reset bool // VmHWM was reset at the start, so it is this watch's peak

	stop    chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex
	maxRSS  int64 // kB, sampled
	lastErr error
}

// watchProc starts measuring process pid. It resets the kernel's RSS
// high-water mark where allowed (writing 5 to /proc/PID/clear_refs needs
// the rights of ptrace) and samples VmRSS every 100ms in any case, since a
// reset can silently fail to apply.
func watchProc(pid int, name string) (*procWatch, error) {
	cpu, err := cpuSeconds(pid)
	if err != nil {
		return nil, err
	}
	w := &procWatch{pid: pid, name: name, t0: time.Now(), cpu0: cpu, stop: make(chan struct{})}
	w.reset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	w.sample()
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(rssSampleInterval)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w, nil
}

func (w *procWatch) sample() {
	kb, err := statusKB(w.pid, "VmRSS")
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.lastErr = err
		return
	}
	w.maxRSS = max(w.maxRSS, kb)
}

// finish stops the watch and returns the process's CPU use, in cores, and
// peak RSS since watchProc. It fails when the process is gone.
func (w *procWatch) finish() (procUsage, error) {
	close(w.stop)
	w.done.Wait()
	w.sample()
	cpu, err := cpuSeconds(w.pid)
	if err != nil {
		return procUsage{Name: w.name}, err
	}
	peak := w.maxRSS
	if w.reset {
		if hwm, err := statusKB(w.pid, "VmHWM"); err == nil {
			peak = max(peak, hwm)
		}
	}
	if peak == 0 {
		return procUsage{Name: w.name}, fmt.Errorf("cannot read the RSS of process %d: %w", w.pid, w.lastErr)
	}
	return procUsage{
		Name:    w.name,
		Cores:   (cpu - w.cpu0) / time.Since(w.t0).Seconds(),
		PeakMiB: float64(peak) / 1024,
	}, nil
}

// cpuSeconds returns the user and system CPU time process pid has used.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cannot read the CPU time of process %d: %w", pid, err)
	}
	utime, stime, err := parseStat(b)
	if err != nil {
		return 0, fmt.Errorf("cannot parse /proc/%d/stat: %w", pid, err)
	}
	return float64(utime+stime) / userHZ, nil
}

// parseStat returns utime and stime, in clock ticks, from the contents of
// /proc/PID/stat. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so fields are counted from the last ')'.
func parseStat(b []byte) (utime, stime uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("no ')' after the command name")
	}
	// After ')': state (field 3), ..., utime (14), stime (15).
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	if utime, err = strconv.ParseUint(string(f[11]), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("utime: %w", err)
	}
	if stime, err = strconv.ParseUint(string(f[12]), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("stime: %w", err)
	}
	return utime, stime, nil
}

func statusKB(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(b, key)
}

// parseStatusKB returns the value of a "Key:   1234 kB" line of
// /proc/PID/status.
func parseStatusKB(b []byte, key string) (int64, error) {
	for line := range bytes.Lines(b) {
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(name) != key {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("cannot parse %s line %q", key, bytes.TrimSpace(line))
		}
		return strconv.ParseInt(string(f[0]), 10, 64)
	}
	return 0, fmt.Errorf("no %s line", key)
}

// procSet watches several processes together.
type procSet []*procWatch

// watchProcs starts a watch on each pid, named by the label of the same
// position.
func watchProcs(pids []int, names []string) (procSet, error) {
	var ws procSet
	for k, pid := range pids {
		w, err := watchProc(pid, names[k])
		if err != nil {
			_, _ = ws.finish()
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// finish ends every watch; a process that ended during the measurement is
// reported as an error after the others are finished.
func (ws procSet) finish() ([]procUsage, error) {
	var (
		out  []procUsage
		errs []error
	)
	for _, w := range ws {
		u, err := w.finish()
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, u)
	}
	return out, errors.Join(errs...)
}
