package main

import (
	"sync"
	"time"
)

// pacer spaces the requests of any number of senders so that their samples
// leave at a steady rate in all: each request reserves the time its samples
// take at that rate, from the end of the previous reservation, or from now
// when that has passed. A sender that falls behind (a slow target) does not
// make up for it with a burst afterwards: the load stays at or below the
// rate.
type pacer struct {
	rate float64 // samples per second
	mu   sync.Mutex
	next time.Time // when the next reservation starts
}

// newPacer returns a pacer of rate samples per second, nil for a rate of 0
// or less: no pacing.
func newPacer(rate float64) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{rate: rate}
}

// reserve returns when a request of n samples, ready at now, may leave.
func (p *pacer) reserve(now time.Time, n int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = at.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	return at
}

// wait sleeps until a request of n samples may leave, and reports whether
// it may leave before deadline (zero: none); when not, it returns false at
// once. A nil pacer returns true at once.
func (p *pacer) wait(n int, deadline time.Time) bool {
	if p == nil {
		return true
	}
	at := p.reserve(time.Now(), n)
	if !deadline.IsZero() && !at.Before(deadline) {
		return false
	}
	time.Sleep(time.Until(at))
	return true
}
