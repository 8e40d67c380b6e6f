package adapter

import (
	"context"
	"fmt"
	"net/http"
	"sort"
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

// pingAll pings every database at once and returns the one-line reasons of
// those that did not answer, sorted.
func (s *Server) pingAll(ctx context.Context) []string {
	st := s.state.Load()
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var (
		mu   sync.Mutex
		down []string
		wg   sync.WaitGroup
	)
	for name, p := range st.pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Ping(ctx); err != nil {
				mu.Lock()
				down = append(down, fmt.Sprintf("%s (%v)", name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Strings(down)
	return down
}

// handleReady answers 200 only when every configured database answers ping,
// so that a load balancer sends writes only where they can be stored.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if down := s.pingAll(r.Context()); len(down) > 0 {
		s.writeError(w, unavailable("not ready: databases down: "+strings.Join(down, ", ")))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "promflux is ready.")
}

func (s *Server) handleReload(w http.ResponseWriter, _ *http.Request) {
	if err := s.Reload(); err != nil {
		level.Error(s.logger).Log("msg", "reload failed, keeping the running configuration", "err", err)
		s.writeError(w, &httpError{http.StatusInternalServerError, "reload failed: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "configuration reloaded.")
}
