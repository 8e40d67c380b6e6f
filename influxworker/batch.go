package influxworker

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alecthomas/units"
)

// batcher coalesces the lines of a Pool's concurrent Writes into batches,
// each sent as one request by a goroutine holding a worker. Writers copy
// their lines into the open batch; a full batch is cut and waits in ready
// for a worker, one not full leaves once it lingered and a worker is free.
// While every worker is busy the open batch keeps filling, so a loaded pool
// sends fewer, larger bodies.
//
// No goroutine exists without work: a batch's goroutine starts when it gets
// a worker and ends with the batch, and the linger timer runs only when it
// fires.
type batcher struct {
	mu sync.Mutex
	// open is the batch being filled, nil when none.
	open *batch
	// ready holds the cut batches waiting for a worker, oldest first.
	ready []*batch
	// alive counts the batches in memory: open, ready and being sent. It
	// is bounded by pool.workers + pool.queue.
	alive int
	// waiting is len(ready), plus one for open: the batches not yet sent.
	// releaseWorker reads it without mu.
	waiting atomic.Int64
	// linger fires when the open batch has waited pool.batch.linger;
	// created on first use, then reset for every opened batch.
	linger *time.Timer
	// handOffs counts the workers handOff considered while queries
	// waited, to alternate between them and the batches.
	handOffs int
}

// batch is the line protocol of one write request, with the part of every
// Write in it.
type batch struct {
	buf    []byte
	points int
	// segs holds one segment per Write with lines in the batch, in order.
	segs []segment
	// opened is when the batch was opened; lingered is set once it waited
	// pool.batch.linger.
	opened   time.Time
	lingered bool
	// deadline is the latest deadline of the batch's Writes, unbounded set
	// if one had none: a batch is not sent or retried after its last writer
	// stopped waiting (see abandoned).
	deadline  time.Time
	unbounded bool
	// stops unregisters the functions that cancel the batch once all its
	// writers stopped waiting.
	stops []func() bool
}

// segment is the lines of one Write in a batch: buf[start:end].
type segment struct {
	w                  *waiter
	start, end, points int
}

// waiter is one Write waiting for its batches.
type waiter struct {
	// ctx is the Write's context: a batch whose Writes' contexts all ended
	// is abandoned.
	ctx context.Context
	mu  sync.Mutex
	// pending counts the batches holding lines of the Write, plus one
	// while the Write is still adding lines.
	pending int
	// err is the error to return: a retryable one if any batch failed
	// retryably, else the first permanent one.
	err error
	// done is closed when pending drops to 0.
	done chan struct{}
}

// finish records the outcome of one batch (or the end of adding lines,
// with nil).
func (w *waiter) finish(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil && (w.err == nil || IsPermanent(w.err) && !IsPermanent(err)) {
		// The caller answers a retryable error by sending everything
		// again, which covers the permanently refused lines too.
		w.err = err
	}
	w.pending--
	if w.pending == 0 {
		close(w.done)
	}
}

// batchPool recycles batches with their buffers.
var batchPool = sync.Pool{New: func() any { return new(batch) }}

// batchLimits are the pool's batching settings in the units the batcher
// works with.
type batchLimits struct {
	maxPoints, maxBytes int
	// batches bounds alive.
	batches int
	linger  time.Duration
}

func (p *Pool) batchLimits() batchLimits {
	pc := &p.cfg.Pool
	return batchLimits{
		maxPoints: pc.Batch.MaxPoints,
		maxBytes:  int(min(pc.Batch.MaxBytes, pc.MaxBodyBytes)),
		batches:   pc.Workers + pc.Queue,
		linger:    time.Duration(pc.Batch.Linger),
	}
}

// minSpreadBytes is the smallest piece spread cuts a write into: about
// 1000 lines of 10-label series. InfluxDB's cost per request would show
// below it.
const minSpreadBytes = 192 << 10

// spread lowers lim.maxBytes for a write of n bytes that finds the pool
// idle, so that it goes out as up to workers pieces of at least
// minSpreadBytes in parallel: InfluxDB stores one write request on one
// core, and a sender whose requests come one at a time (a Prometheus
// with one shard) would otherwise wait for one core while the others
// idle. A pool with a batch in memory is not idle: writes are coalesced
// there instead. With a linger the operator chose coalescing: lim is
// kept.
func (lim batchLimits) spread(n, workers int) batchLimits {
	parts := min(workers, n/minSpreadBytes)
	if lim.linger > 0 || parts < 2 {
		return lim
	}
	// A sixteenth more, so that whole lines of n/parts bytes or so fill
	// parts pieces, not one more.
	per := n/parts + n/(16*parts)
	lim.maxBytes = min(lim.maxBytes, per)
	return lim
}

// enqueue copies lines into batches on behalf of w, cutting them as they
// fill, and hands the sendable ones to free workers. It fails at once, with
// nothing of lines queued, with ErrOverloaded when lines do not fit into
// the batches the bound allows.
func (p *Pool) enqueue(ctx context.Context, w *waiter, lines []byte) error {
	lim := p.batchLimits()
	deadline, bounded := ctx.Deadline()
	b := &p.batches
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.alive == 0 {
		lim = lim.spread(len(lines), p.cfg.Pool.Workers)
	}
	size, points := 0, 0
	if b.open != nil {
		size, points = len(b.open.buf), b.open.points
	}
	fresh := 0
	planPieces(lines, lim, b.open != nil, size, points, func(piece) {}, func(newBatch bool) {
		if newBatch {
			fresh++
		}
	})
	if b.alive+fresh > lim.batches {
		return p.overloaded(lim, len(lines), fresh)
	}
	defer p.dispatchLocked()
	planPieces(lines, lim, b.open != nil, size, points,
		func(pc piece) {
			b.open.add(w, lines[pc.start:pc.end], pc.points, deadline, bounded)
		},
		func(newBatch bool) {
			if b.open != nil {
				p.cutLocked()
			}
			if newBatch {
				p.openBatchLocked(lim)
			}
		})
	return nil
}

// piece is lines[start:end], points lines, added to one batch.
type piece struct{ start, end, points int }

// planPieces cuts lines into the pieces that go into batches, given the
// fill (size, points) of the open batch when open is set. It calls batch
// before a piece that needs a new batch (newBatch true; the open one, if
// any, is cut) and after the last piece when it filled its batch (newBatch
// false: the batch is cut), and add for every piece. enqueue runs it once
// to count the new batches, then once to fill them, so that a Write either
// fits whole or is refused without anything of it queued.
func planPieces(lines []byte, lim batchLimits, open bool, size, points int, add func(piece), batch func(newBatch bool)) {
	for start := 0; start < len(lines); {
		if !open {
			batch(true)
			open, size, points = true, 0, 0
		}
		rest := lines[start:]
		n, pts := cutLines(rest, lim.maxBytes-size, lim.maxPoints-points)
		if n == 0 {
			if points > 0 {
				open = false
				continue
			}
			// A line longer than max_bytes goes alone, so that InfluxDB
			// refuses only that line if it is too long for it as well.
			if n = bytes.IndexByte(rest, '\n') + 1; n == 0 {
				n = len(rest)
			}
			pts = 1
		}
		add(piece{start: start, end: start + n, points: pts})
		size += n
		if rest[n-1] != '\n' {
			size++ // add ends the piece with '\n'
		}
		points += pts
		start += n
		if points >= lim.maxPoints || size >= lim.maxBytes {
			open = false
			if start == len(lines) {
				batch(false)
			}
		}
	}
}

// Full reports whether every batch the pool may hold is in memory and
// none is open to more lines: a write now would be refused whatever its
// size. A UDP pool is never full.
func (p *Pool) Full() bool {
	open, saturated := p.room()
	return saturated && !open
}

// Saturated reports whether every batch the pool may hold is in memory: a
// write now is refused unless it fits what is left of the open batch, if
// there is one. A UDP pool is never saturated.
func (p *Pool) Saturated() bool {
	_, saturated := p.room()
	return saturated
}

// room reports whether a batch is open to more lines, and whether every
// batch the pool may hold is in memory.
func (p *Pool) room() (open, saturated bool) {
	if p.udp != nil {
		return true, false
	}
	lim := p.batchLimits()
	b := &p.batches
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open != nil, b.alive >= lim.batches
}

// Admit fails, like a Write that would be refused whatever its size, with
// an *Error wrapping ErrOverloaded (and counted as one), when the pool is
// Full: a caller can then refuse work before it spends CPU on it. It
// returns nil otherwise.
func (p *Pool) Admit() error {
	if !p.Full() {
		return nil
	}
	lim := p.batchLimits()
	err := &Error{
		Op: OpWrite, Name: p.cfg.Name, Err: ErrOverloaded,
		Message: fmt.Sprintf("overloaded: all %d batches allowed (pool.workers %d + pool.queue %d) are in memory and full",
			lim.batches, p.cfg.Pool.Workers, p.cfg.Pool.Queue),
	}
	p.metrics.writeFailed(err)
	return err
}

func (p *Pool) overloaded(lim batchLimits, n, fresh int) *Error {
	return &Error{
		Op: OpWrite, Name: p.cfg.Name, Err: ErrOverloaded,
		Message: fmt.Sprintf("overloaded: %d bytes of line protocol need %d more batches of up to %d lines and %s, but %d of the %d allowed (pool.workers %d + pool.queue %d) are in memory",
			n, fresh, lim.maxPoints, units.Base2Bytes(lim.maxBytes), p.batches.alive, lim.batches, p.cfg.Pool.Workers, p.cfg.Pool.Queue),
	}
}

// openBatchLocked starts a new open batch, with a buffer that holds
// max_bytes without growing, so that lines are copied once.
func (p *Pool) openBatchLocked(lim batchLimits) *batch {
	b := &p.batches
	o := batchPool.Get().(*batch)
	if cap(o.buf) < lim.maxBytes {
		o.buf = make([]byte, 0, lim.maxBytes)
	}
	b.open = o
	b.alive++
	b.addWaiting(p, 1)
	if lim.linger > 0 {
		o.opened = time.Now()
		if b.linger == nil {
			b.linger = time.AfterFunc(lim.linger, p.lingerExpired)
		} else {
			b.linger.Reset(lim.linger)
		}
	}
	return o
}

// add appends the whole lines of one Write, ending them with '\n' so that
// the next Write's lines start on a line of their own.
func (o *batch) add(w *waiter, lines []byte, points int, deadline time.Time, bounded bool) {
	start := len(o.buf)
	o.buf = append(o.buf, lines...)
	if lines[len(lines)-1] != '\n' {
		o.buf = append(o.buf, '\n')
	}
	o.points += points
	o.segs = append(o.segs, segment{w: w, start: start, end: len(o.buf), points: points})
	w.mu.Lock()
	w.pending++
	w.mu.Unlock()
	switch {
	case !bounded:
		o.unbounded = true
	case deadline.After(o.deadline):
		o.deadline = deadline
	}
}

// cutLocked moves the open batch to the ready queue.
func (p *Pool) cutLocked() {
	b := &p.batches
	b.ready = append(b.ready, b.open)
	b.open = nil
	if b.linger != nil {
		b.linger.Stop()
	}
}

func (b *batcher) addWaiting(p *Pool, n int64) {
	b.waiting.Add(n)
	p.metrics.queued.Add(float64(n))
}

// lingerExpired makes the open batch sendable once it waited
// pool.batch.linger. A late call for a batch already cut finds a younger
// open batch, or none, and does nothing.
func (p *Pool) lingerExpired() {
	b := &p.batches
	b.mu.Lock()
	defer b.mu.Unlock()
	if o := b.open; o != nil && time.Since(o.opened) >= time.Duration(p.cfg.Pool.Batch.Linger) {
		o.lingered = true
		p.dispatchLocked()
	}
}

// dispatchLocked starts a sender for every sendable batch, oldest first,
// as long as workers are free. It never waits for a worker: whoever frees
// one calls it again (releaseWorker).
func (p *Pool) dispatchLocked() {
	for p.sendableLocked() != nil {
		select {
		case p.workers <- struct{}{}:
		default:
			return
		}
		p.metrics.inflight.Inc()
		go p.send(p.takeLocked())
	}
}

// sendableLocked returns the batch to send next, nil when none may leave
// yet: the oldest cut batch, else the open one once it lingered (at once
// without a linger).
func (p *Pool) sendableLocked() *batch {
	b := &p.batches
	switch {
	case len(b.ready) > 0:
		return b.ready[0]
	case b.open != nil && (b.open.lingered || p.cfg.Pool.Batch.Linger == 0):
		return b.open
	}
	return nil
}

// takeLocked removes the batch sendableLocked returns from the batcher, for
// a sender that holds a worker.
func (p *Pool) takeLocked() *batch {
	b := &p.batches
	next := p.sendableLocked()
	if next == b.open {
		b.open = nil
		if b.linger != nil {
			b.linger.Stop()
		}
	} else {
		n := copy(b.ready, b.ready[1:])
		b.ready[n] = nil
		b.ready = b.ready[:n]
	}
	b.addWaiting(p, -1)
	return next
}

// handOff starts the next sendable batch with the worker the caller is
// giving up, and reports whether there was one. A worker put back into the
// channel goes to a query waiting in acquire first, so without hand-offs
// queries could starve writes; while queries wait, every other worker is
// left to them, so that neither side starves.
func (p *Pool) handOff() bool {
	b := &p.batches
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.sendableLocked() == nil {
		return false
	}
	if p.waiting.Load() > 0 {
		b.handOffs++
		if b.handOffs%2 == 0 {
			return false
		}
	}
	go p.send(p.takeLocked())
	return true
}

// send writes o with the worker taken for it (dispatchLocked, handOff),
// completes its writers and frees the worker and the batch. The worker is
// kept through the retries, so that a failing InfluxDB gets fewer requests.
//
// A permanent error for a batch of several Writes means InfluxDB refused
// some points and stored the others: each Write's lines are sent again
// alone, so that only the Writes holding refused points get the error
// (resending stored points is harmless, see Pool.Write).
func (p *Pool) send(o *batch) {
	if o.abandoned() {
		// Sending it would only add load to an InfluxDB already behind.
		for _, sg := range o.segs {
			sg.w.finish(p.gaveUp(sg.w.ctx, o.buf[sg.start:sg.end]))
		}
		p.finishSend(o, &sender{p: p, held: true})
		return
	}
	var ctx context.Context
	var cancel context.CancelFunc
	if o.unbounded {
		ctx, cancel = context.WithCancel(context.Background())
	} else {
		ctx, cancel = context.WithDeadline(context.Background(), o.deadline)
	}
	defer cancel()
	var waiting atomic.Int64
	waiting.Store(int64(len(o.segs)))
	left := func() {
		if waiting.Add(-1) == 0 {
			cancel()
		}
	}
	for _, sg := range o.segs {
		o.stops = append(o.stops, context.AfterFunc(sg.w.ctx, left))
	}
	p.metrics.batchPoints.Observe(float64(o.points))
	p.metrics.batchBytes.Observe(float64(len(o.buf)))
	s := &sender{p: p, held: true}
	err := s.write(ctx, o.buf, o.points)
	switch {
	case err == nil:
		p.metrics.pointsWritten.Add(float64(o.points))
		for _, sg := range o.segs {
			sg.w.finish(nil)
		}
	case IsPermanent(err) && len(o.segs) > 1:
		p.metrics.splits.Inc()
		for _, sg := range o.segs {
			if sg.w.ctx.Err() != nil {
				sg.w.finish(p.gaveUp(sg.w.ctx, o.buf[sg.start:sg.end]))
				continue
			}
			serr := s.write(ctx, o.buf[sg.start:sg.end], sg.points)
			if serr == nil {
				p.metrics.pointsWritten.Add(float64(sg.points))
			}
			sg.w.finish(serr)
		}
	default:
		for _, sg := range o.segs {
			sg.w.finish(err)
		}
	}
	for _, stop := range o.stops {
		stop()
	}
	p.finishSend(o, s)
}

// abandoned reports whether every writer of o stopped waiting.
func (o *batch) abandoned() bool {
	for _, sg := range o.segs {
		if sg.w.ctx.Err() == nil {
			return false
		}
	}
	return true
}

// finishSend frees o and, when s still holds it, the worker: to the next
// batch when one is sendable (see handOff).
func (p *Pool) finishSend(o *batch, s *sender) {
	b := &p.batches
	b.mu.Lock()
	b.alive--
	p.recycleLocked(o)
	b.mu.Unlock()
	if s.held {
		p.releaseWorker()
	}
}

// recycleLocked returns o to batchPool without its writers, unless its
// buffer grew past this pool's batch.max_bytes for an outsized line
// (batchPool is shared by pools whose limits differ).
func (p *Pool) recycleLocked(o *batch) {
	if cap(o.buf) > p.batchLimits().maxBytes {
		return
	}
	clear(o.segs)
	clear(o.stops)
	*o = batch{buf: o.buf[:0], segs: o.segs[:0], stops: o.stops[:0]}
	batchPool.Put(o)
}

// cutLines returns the length n of the longest prefix of b made of whole
// lines that takes at most roomBytes in a batch and holds at most
// roomPoints lines, and the number of lines in it. A last line without
// '\n' is a line, which takes one byte more in a batch.
func cutLines(b []byte, roomBytes, roomPoints int) (n, points int) {
	if len(b) < roomBytes {
		// The common case: a whole Write fits, no call per line.
		if c := countLines(b); c <= roomPoints {
			return len(b), c
		}
	}
	for n < len(b) && points < roomPoints {
		end, size := len(b), len(b)-n+1
		if i := bytes.IndexByte(b[n:], '\n'); i >= 0 {
			end, size = n+i+1, i+1
		}
		if n+size > roomBytes {
			break
		}
		n = end
		points++
	}
	return n, points
}

// countLines counts the lines of b, the last one possibly without '\n'.
func countLines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}
