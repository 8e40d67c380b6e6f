package adapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/remote"
)

// maxRefusedInMessage is how many refused series a 400 names; the rest are
// counted. Prometheus logs the whole body, so it must stay short.
const maxRefusedInMessage = 3

// batch is the line protocol bound for one database in one request.
type batch struct {
	pool     *influxworker.Pool
	lines    []byte
	samples  int // float samples encoded into lines
	received int // float samples routed here, written or not
	err      error
}

// maxPooledBatchBytes keeps the buffers of rare huge requests out of the
// pool, so that one burst does not pin its memory for the process lifetime.
const maxPooledBatchBytes = 4 << 20

var batchPool = sync.Pool{New: func() any { return &batch{} }}

// writeOutcome is what one remote-write request did, for the answer.
type writeOutcome struct {
	samplesWritten  int
	refused         []string // reasons of the first refused series
	refusedCount    int
	histograms      int
	histogramSeries int
	exemplars       int
	unavailable     []string
	rejected        []string
}

// handleWrite serves POST /api/v1/write. It answers 204 only after every
// sample of the request was acknowledged by its database; 503 when a
// database is down or slow (Prometheus retries, nothing is lost); 400 when
// the request or some of its series are bad (the valid rest is written).
func (s *Server) handleWrite(w http.ResponseWriter, r *http.Request) {
	out, err := s.write(r)
	if v, verr := remote.NegotiateWrite(r.Header); verr == nil && v == remote.WriteV2 {
		// RW 2.0 senders learn from these what was stored, on errors too.
		// Histograms and exemplars are not stored yet.
		remote.SetWrittenHeaders(w.Header(), out.samplesWritten, 0, 0)
	}
	if err != nil {
		writeError(w, s.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// write decodes, routes, encodes and stores one remote-write request.
func (s *Server) write(r *http.Request) (writeOutcome, error) {
	var out writeOutcome
	st := s.state.Load()
	only := ""
	if db := r.URL.Query().Get("db"); db != "" {
		if st.pools[db] == nil {
			return out, badRequest(fmt.Sprintf("unknown database %q in ?db= (configured: %s)", db, strings.Join(st.names(), ", ")))
		}
		only = db
	}
	req, err := remote.DecodeWrite(r, st.cfg.Limits)
	if err != nil {
		return out, decodeError(err)
	}
	batches := s.encode(st, req, only, &out)
	s.store(r.Context(), batches)
	for db, b := range batches {
		s.metrics.samplesReceived.WithLabelValues(db).Add(float64(b.received))
		switch {
		case b.err == nil:
			out.samplesWritten += b.samples
		case influxworker.IsPermanent(b.err):
			out.rejected = append(out.rejected, b.err.Error())
		default:
			out.unavailable = append(out.unavailable, b.err.Error())
		}
		if cap(b.lines) <= maxPooledBatchBytes {
			*b = batch{lines: b.lines[:0]}
			batchPool.Put(b)
		}
	}
	return out, out.err()
}

// encode routes every series of req and appends its samples, as line
// protocol, to the batch of its database. only, when set, is the database
// ?db= chose for the whole request.
func (s *Server) encode(st *state, req *remote.WriteRequest, only string, out *writeOutcome) map[string]*batch {
	batches := make(map[string]*batch, 1)
	var counts mapping.Counts
	for i := range req.Series {
		ser := &req.Series[i]
		if n := len(ser.Histograms); n > 0 {
			out.histograms += n
			out.histogramSeries++
		}
		out.exemplars += len(ser.Exemplars)
		if len(ser.Samples) == 0 {
			continue
		}
		db := only
		if db == "" {
			db = st.router.Route(ser.Labels)
		}
		b := batches[db]
		if b == nil {
			b = batchPool.Get().(*batch)
			b.pool = st.pools[db]
			batches[db] = b
		}
		b.received += len(ser.Samples)
		before := counts.Points
		var err error
		b.lines, err = mapping.AppendSeries(b.lines, ser.Labels, ser.Samples, &counts)
		if err != nil {
			out.refusedCount++
			if len(out.refused) < maxRefusedInMessage {
				out.refused = append(out.refused, err.Error())
			}
			continue
		}
		b.samples += counts.Points - before
	}
	for reason, n := range counts.Skipped {
		if n > 0 {
			s.metrics.samplesSkipped.WithLabelValues(mapping.SkipReason(reason).String()).Add(float64(n))
		}
	}
	if out.refusedCount > 0 {
		s.metrics.seriesRefused.Add(float64(out.refusedCount))
	}
	if out.histograms > 0 {
		s.metrics.notStored.WithLabelValues("histogram").Add(float64(out.histograms))
	}
	if out.exemplars > 0 {
		s.metrics.notStored.WithLabelValues("exemplar").Add(float64(out.exemplars))
	}
	if n := len(req.Metadata); n > 0 {
		s.metrics.notStored.WithLabelValues("metadata").Add(float64(n))
	}
	return batches
}

// store writes every batch to its database, in parallel, and waits for all
// of them: the request is answered only when every database answered.
func (s *Server) store(ctx context.Context, batches map[string]*batch) {
	if len(batches) == 1 {
		for _, b := range batches {
			b.err = b.pool.Write(ctx, b.lines)
		}
		return
	}
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.err = b.pool.Write(ctx, b.lines)
		}()
	}
	wg.Wait()
}

// err turns the outcome into the answer's error, most urgent first: a
// database that could not take the data (503, Prometheus retries the whole
// request; rewriting the points that did land is harmless, InfluxDB keeps
// one point per series and timestamp), then refusals (400, not retried).
func (o *writeOutcome) err() error {
	switch {
	case len(o.unavailable) > 0:
		return unavailable("cannot store samples, retry later: " + strings.Join(o.unavailable, "; "))
	case len(o.rejected) > 0:
		return badRequest("database refused the samples: " + strings.Join(o.rejected, "; "))
	}
	var parts []string
	if o.refusedCount > 0 {
		msg := fmt.Sprintf("%d series refused: %s", o.refusedCount, strings.Join(o.refused, "; "))
		if more := o.refusedCount - len(o.refused); more > 0 {
			msg += fmt.Sprintf("; and %d more", more)
		}
		parts = append(parts, msg)
	}
	if o.histograms > 0 {
		parts = append(parts, fmt.Sprintf("native histograms are not stored yet: %d histogram samples in %d series were not written", o.histograms, o.histogramSeries))
	}
	if o.exemplars > 0 {
		parts = append(parts, fmt.Sprintf("exemplars are not stored yet: %d exemplars were not written", o.exemplars))
	}
	if len(parts) == 0 {
		return nil
	}
	return badRequest(strings.Join(parts, "; ") + " (the other samples were written)")
}

// decodeError gives a decoding failure its status code.
func decodeError(err error) error {
	switch {
	case errors.Is(err, remote.ErrUnsupported):
		return &httpError{http.StatusUnsupportedMediaType, err.Error()}
	case errors.Is(err, remote.ErrTooLarge):
		return &httpError{http.StatusRequestEntityTooLarge, err.Error()}
	default:
		return badRequest(err.Error())
	}
}

func (st *state) names() []string {
	names := make([]string, 0, len(st.cfg.Databases))
	for _, d := range st.cfg.Databases {
		names = append(names, d.Name)
	}
	return names
}
