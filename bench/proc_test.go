package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	fixture, err := os.ReadFile("testdata/proc_stat")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		stat         string
		utime, stime uint64
		ok           bool
	}{
		{"fixture, command with spaces and parentheses", string(fixture), 250, 75, true},
		{"no command", "12 S 1 2", 0, 0, false},
		{"truncated", "1 (x) S 1 2 3", 0, 0, false},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 75 0", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, s, err := parseStat([]byte(tc.stat))
			if (err == nil) != tc.ok || u != tc.utime || s != tc.stime {
				t.Fatalf("parseStat = %d, %d, %v; want %d, %d, ok=%v", u, s, err, tc.utime, tc.stime, tc.ok)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	fixture, err := os.ReadFile("testdata/proc_status")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		want int64
		ok   bool
	}{
		{"VmHWM", 53124, true},
		{"VmRSS", 41012, true},
		{"VmSwap", 0, false},
		{"Threads", 0, false}, // no kB unit
	} {
		t.Run(tc.key, func(t *testing.T) {
			got, err := parseStatusKB(fixture, tc.key)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parseStatusKB(%s) = %d, %v; want %d, ok=%v", tc.key, got, err, tc.want, tc.ok)
			}
		})
	}
}

// TestWatchProc measures this test process while it burns CPU and holds
// memory: the figures must show both.
func TestWatchProc(t *testing.T) {
	w, err := watchProc(os.Getpid(), "self")
	if err != nil {
		t.Fatal(err)
	}
	hold := make([]byte, 64<<20)
	for i := range hold {
		hold[i] = byte(i)
	}
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	u, err := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "self" || u.Cores <= 0.05 || u.Cores > 64 || u.PeakMiB < 64 {
		t.Fatalf("usage %+v, want CPU above 0.05 cores and a peak above 64 MiB", u)
	}
	if hold[len(hold)-1] != byte(len(hold)-1) {
		t.Fatal("unreachable: keeps hold alive")
	}
	if _, err := watchProc(1<<30, "gone"); err == nil {
		t.Fatal("watching a process that does not exist did not fail")
	}
}
