package adapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/remote"
)

// handleRead serves POST /api/v1/read. Every query is planned first (its
// series found), so that bad queries and an unreachable database are
// answered with their status before a streamed answer starts; see
// ReadConfig.MaxSamples for the sample limit.
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	st := s.state.Load()
	remote.LimitBodyRate(w, r, st.cfg.Limits)
	req, err := remote.DecodeRead(r, st.cfg.Limits)
	if err != nil {
		s.writeError(w, s.decodeError(err))
		return
	}
	respType, err := remote.NegotiateReadResponse(req.AcceptedResponseTypes)
	if err != nil {
		s.writeError(w, badRequest(err.Error()))
		return
	}
	queryDB := r.URL.Query().Get("db")
	switch {
	case queryDB == "":
	case st.pools[queryDB] == nil:
		s.writeError(w, badRequest(fmt.Sprintf("unknown database %q in ?db= (configured: %s)", queryDB, strings.Join(st.names(), ", "))))
		return
	case st.pools[queryDB].WriteOnly():
		s.writeError(w, badRequest(fmt.Sprintf("database %q in ?db= is write-only (transport: udp) and cannot be read", queryDB)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(st.cfg.Read.Timeout))
	defer cancel()
	if err := s.takeReadSlot(ctx, st); err != nil {
		s.writeError(w, err)
		return
	}
	defer func() { <-st.readSlots }()

	plans := make([]*readPlan, len(req.Queries))
	for i, q := range req.Queries {
		if plans[i], err = s.plan(ctx, st, q, queryDB); err != nil {
			s.writeError(w, fmt.Errorf("query %d: %w", i, err))
			return
		}
	}

	limit := st.cfg.Read.MaxSamples
	switch respType {
	case prompb.ReadRequest_STREAMED_XOR_CHUNKS:
		cw := remote.NewChunkedWriter(w, remote.DefaultMaxFrameBytes)
		for i, p := range plans {
			sink := &limitSink{seriesSink: &chunkedSink{cw: cw, index: int64(i)}, limit: limit}
			err := s.fetch(ctx, p, sink)
			if err == nil {
				continue
			}
			if !cw.Written() {
				s.writeError(w, readError(fmt.Errorf("query %d: %w", i, err)))
				return
			}
			// The status line is gone: abort the connection, so that
			// the client sees a broken stream, not a short answer.
			s.readAborted(fmt.Errorf("query %d: %w", i, err))
			panic(http.ErrAbortHandler)
		}
	default:
		var sw remote.SamplesWriter
		for i, p := range plans {
			sw.StartResult()
			if err := s.fetch(ctx, p, &limitSink{seriesSink: &samplesSink{w: &sw}, limit: limit}); err != nil {
				s.writeError(w, readError(fmt.Errorf("query %d: %w", i, err)))
				return
			}
			sw.EndResult()
		}
		if err := sw.WriteTo(w); err != nil {
			s.readAborted(err)
		}
	}
}

// takeReadSlot waits for the turn of a read: at most read.max_concurrency
// are answered at once, each with up to two requests to a database in
// flight, so that a crowd of dashboards queues here instead of finding the
// database's pool overloaded. It gives up when ctx (read.timeout) ends.
func (s *Server) takeReadSlot(ctx context.Context, st *state) error {
	select {
	case st.readSlots <- struct{}{}:
		return nil
	default:
	}
	s.metrics.readsWaiting.Inc()
	defer s.metrics.readsWaiting.Dec()
	select {
	case st.readSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return unavailable(fmt.Sprintf("overloaded, retry later: no turn among the %d reads answered at once (read.max_concurrency): %v", cap(st.readSlots), ctx.Err()))
	}
}

// readAborted records a read answer that broke off after its status was
// sent: the client went away, a database failed mid-stream, or the query
// passed read.max_samples.
func (s *Server) readAborted(err error) {
	s.metrics.readsAborted.Inc()
	level.Warn(s.logger).Log("msg", "remote read aborted after the answer started", "err", err)
}

// tooManySamplesError is a query over read.max_samples.
type tooManySamplesError struct{ limit int64 }

func (e tooManySamplesError) Error() string {
	return fmt.Sprintf("query would return more than read.max_samples (%d) samples: narrow the time range or the selector", e.limit)
}

// errStoredValue marks a stored point that is not a valid encoding of a
// sample: the database's content is at fault, neither the client nor the
// database's availability.
var errStoredValue = errors.New("invalid stored sample")

// readError gives a failed read its status: the sample limit and refused
// queries are the client's (400), the rest is the database's (503).
func readError(err error) error {
	var he *httpError
	var tooMany tooManySamplesError
	switch {
	case errors.As(err, &he):
		return err
	case errors.As(err, &tooMany):
		return badRequest(err.Error())
	case errors.Is(err, errStoredValue):
		return serverError(err.Error())
	case influxworker.IsPermanent(err):
		return badRequest("database refused the query: " + err.Error())
	default:
		return unavailable("cannot read from the database, retry later: " + err.Error())
	}
}
