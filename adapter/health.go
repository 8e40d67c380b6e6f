package adapter

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log/level"
)

// readyTimeout bounds the pings behind /-/ready: a load balancer's probe
// must get an answer even when a database hangs.
const readyTimeout = 5 * time.Second

func (s *Server) handleHealthy(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "promflux is healthy.")
}

// watchHealth pings every database of the current configuration every
// healthInterval until ctx ends. Each ping records the database's health
// (promflux_influxdb_up) in its pool.
func (s *Server) watchHealth(ctx context.Context) {
	defer close(s.healthDone)
	t := time.NewTicker(healthInterval)
	defer t.Stop()
	for {
		s.pingAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// dbHealth is the answer of one database to a ping.
type dbHealth struct {
	name string
	err  error
}

func (h dbHealth) String() string {
	if h.err != nil {
		return fmt.Sprintf("%s down (%v)", h.name, h.err)
	}
	return h.name + " up"
}

// pingAll pings every database at once and returns their answers, by
// name.
func (s *Server) pingAll(ctx context.Context) []dbHealth {
	st := s.state.Load()
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	out := make([]dbHealth, 0, len(st.pools))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for name, p := range st.pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.Ping(ctx)
			mu.Lock()
			out = append(out, dbHealth{name: name, err: err})
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b dbHealth) int { return strings.Compare(a.name, b.name) })
	return out
}

// handleReady answers 200 when the databases ready.require asks for
// answer ping (by default every one, so that a load balancer sends writes
// only where they can be stored), else 503; the body gives each
// database's state.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	health := s.pingAll(r.Context())
	up, states := 0, make([]string, len(health))
	for i, h := range health {
		if h.err == nil {
			up++
		}
		states[i] = h.String()
	}
	detail, require := strings.Join(states, ", "), s.state.Load().cfg.Ready.Require
	if up == 0 || up < len(health) && require == ReadyAll {
		s.writeError(w, unavailable(fmt.Sprintf("not ready (ready.require: %s): %s", require, detail)))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "promflux is ready: %s\n", detail)
}

func (s *Server) handleReload(w http.ResponseWriter, _ *http.Request) {
	if err := s.Reload(); err != nil {
		level.Error(s.logger).Log("msg", "reload failed, keeping the running configuration", "err", err)
		s.writeError(w, serverError("reload failed: "+err.Error()))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "configuration reloaded.")
}
