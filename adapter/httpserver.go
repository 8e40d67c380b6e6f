package adapter

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// headerTimeout is how long a request's header section may take to arrive
// (Apache's mod_reqtimeout allows 20 to 40 s for it; a Prometheus request's
// few hundred bytes need a round trip). A connection idle before its first
// request is closed after it too. Bodies have limits.body_timeout and
// limits.min_body_rate, set per request.
var headerTimeout = 10 * time.Second

// HTTPServer returns the HTTP server promflux serves Handler with: its
// timeouts, and the metrics of its connections.
func (s *Server) HTTPServer() *http.Server {
	w := &connWatch{
		headers: make(map[net.Conn]bool),
		cut:     s.metrics.headersCut,
		open:    s.metrics.connsOpen,
	}
	return &http.Server{
		Handler:           w.handler(s.Handler()),
		ReadHeaderTimeout: headerTimeout,
		// The handlers that read a body move this deadline with
		// remote.LimitBodyRate; it bounds those that do not.
		ReadTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute,
		ConnState:   w.state,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
}

// connKey is the context key of the connection a request came on.
type connKey struct{}

// connWatch counts open connections, and those closed while a request's
// header section was arriving: net/http closes them without an answer
// when it is too slow (headerTimeout), and with a 400 or 431 when it is
// malformed or too large.
type connWatch struct {
	mu sync.Mutex
	// headers holds the connections that have read part of a request and
	// not yet reached its handler.
	headers map[net.Conn]bool
	cut     prometheus.Counter
	open    prometheus.Gauge
}

// state is http.Server.ConnState. net/http calls it with StateActive once
// it has read any byte of a request, whether or not the header section
// was read whole, and before the handler runs.
func (w *connWatch) state(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		w.open.Inc()
	case http.StateActive:
		w.mu.Lock()
		w.headers[c] = true
		w.mu.Unlock()
	case http.StateClosed, http.StateHijacked:
		w.open.Dec()
		w.mu.Lock()
		if w.headers[c] {
			w.cut.Inc()
			delete(w.headers, c)
		}
		w.mu.Unlock()
	}
}

// handler marks the connection of every request that reaches h as past its
// header section.
func (w *connWatch) handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
			w.mu.Lock()
			delete(w.headers, c)
			w.mu.Unlock()
		}
		h.ServeHTTP(rw, r)
	})
}
