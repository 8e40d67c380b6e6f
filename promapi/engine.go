package promapi

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	sloggokit "github.com/tjhop/slog-gokit"
)

// evaluationInterval is the step of a subquery that names none
// (rate(x[1h:])): Prometheus's default global evaluation_interval, which
// its engine uses for them.
const evaluationInterval = time.Minute

// Engine is Prometheus's PromQL engine with the bounds of a Config: the
// options Prometheus's own flags set, and at most MaxConcurrency queries
// evaluated at once. An Engine is immutable: a new Config needs a new
// Engine, and the old one's Close.
type Engine struct {
	engine  *promql.Engine
	cfg     Config
	metrics *registry
}

// NewEngine builds the engine of cfg. Its metrics, the engine's own
// (prometheus_engine_*, as Prometheus exports them), are registered with
// reg when it is not nil.
func NewEngine(cfg Config, logger log.Logger, reg prometheus.Registerer) *Engine {
	e := &Engine{cfg: cfg}
	opts := promql.EngineOpts{
		Logger:             slog.New(sloggokit.NewGoKitHandler(log.With(logger, "component", "promapi"), nil)),
		MaxSamples:         cfg.MaxSamples,
		Timeout:            time.Duration(cfg.Timeout),
		ActiveQueryTracker: &queryLimiter{slots: make(chan struct{}, cfg.MaxConcurrency)},
		LookbackDelta:      time.Duration(cfg.LookbackDelta),
		NoStepSubqueryIntervalFn: func(int64) int64 {
			return evaluationInterval.Milliseconds()
		},
		// On in Prometheus since 2.33; its engine leaves them to the
		// caller.
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	}
	if reg != nil {
		e.metrics = &registry{reg: reg}
		opts.Reg = e.metrics
	}
	e.engine = promql.NewEngine(opts)
	return e
}

// Config is the Config the engine was built with.
func (e *Engine) Config() Config { return e.cfg }

// Close unregisters the engine's metrics, so that the engine of a new
// configuration can register its own. Queries still running finish.
func (e *Engine) Close() {
	if e.metrics != nil {
		e.metrics.unregisterAll()
	}
}

// queryLimiter is the engine's ActiveQueryTracker, which it asks for a
// turn before it parses a query and again before it evaluates it: at most
// cap(slots) queries hold one at once, the others wait within their
// context. Prometheus's own tracker also logs the queries to a file, to
// name those running when it crashed; promflux keeps no files.
type queryLimiter struct {
	slots chan struct{}
}

func (l *queryLimiter) GetMaxConcurrent() int { return cap(l.slots) }

// Insert waits for a turn. A wait that outlasts the query's context fails
// with the engine's own timeout or cancellation error, which the API
// answers as Prometheus answers a query that timed out (503) or was
// canceled.
func (l *queryLimiter) Insert(ctx context.Context, _ string) (int, error) {
	select {
	case l.slots <- struct{}{}:
		return 0, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, promql.ErrQueryTimeout("query queue")
		}
		return 0, promql.ErrQueryCanceled("query queue")
	}
}

func (l *queryLimiter) Delete(int) { <-l.slots }

func (l *queryLimiter) Close() error { return nil }

// registry is the Registerer of an engine's metrics: it registers them
// with reg and remembers them, so that unregisterAll can take them out
// again. The engine creates its metrics itself, and a reload that builds a
// new engine would otherwise find the old one's registered under the same
// names.
type registry struct {
	reg        prometheus.Registerer
	mu         sync.Mutex
	collectors []prometheus.Collector
}

func (r *registry) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *registry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *registry) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

func (r *registry) unregisterAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.collectors {
		r.reg.Unregister(c)
	}
	r.collectors = nil
}
