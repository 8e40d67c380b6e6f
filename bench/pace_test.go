package main

import (
	"testing"
	"time"
)

func TestPacerReserve(t *testing.T) {
	p := newPacer(1000) // 2000 samples take 2s
	t0 := time.Unix(1000, 0)
	steps := []struct {
		now  time.Duration // after t0
		n    int
		want time.Duration // after t0
	}{
		{0, 2000, 0},                               // the first leaves at once
		{0, 2000, 2 * time.Second},                 // a second sender waits for the first's share
		{time.Second, 500, 4 * time.Second},        // queued behind both
		{10 * time.Second, 1000, 10 * time.Second}, // idle since 4.5s: no burst to catch up
		{10 * time.Second, 1, 11 * time.Second},
	}
	for i, s := range steps {
		if got := p.reserve(t0.Add(s.now), s.n); !got.Equal(t0.Add(s.want)) {
			t.Fatalf("step %d: reserve(t0+%v, %d) = t0+%v, want t0+%v", i, s.now, s.n, got.Sub(t0), s.want)
		}
	}
}

func TestPacerWait(t *testing.T) {
	p := newPacer(1e6)
	if !p.wait(1000, time.Time{}) {
		t.Fatal("the first request without a deadline may not leave")
	}
	// The next slot starts 1ms from now: past a deadline of now.
	if p.wait(1000, time.Now()) {
		t.Fatal("a request whose slot starts past the deadline may leave")
	}
	var off *pacer
	if newPacer(0) != nil {
		t.Fatal("newPacer(0) is not nil")
	}
	start := time.Now()
	if !off.wait(1<<20, time.Now().Add(time.Millisecond)) || time.Since(start) > time.Second {
		t.Fatal("a nil pacer held a request")
	}
}
