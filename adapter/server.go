package adapter

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/promapi"
)

// startupTimeout bounds the work done against the databases when a
// configuration is applied (creating databases). A database that is down
// must not keep promflux from starting: writes to it answer 503 until it is
// back.
const startupTimeout = 10 * time.Second

// healthInterval is how often every database is pinged in the background,
// so that promflux_influxdb_up is current without anyone probing /-/ready.
const healthInterval = 5 * time.Second

// Server is the promflux HTTP service: it owns the loaded configuration, the
// router and one worker pool per database, and swaps them as a whole on
// reload, so a request always sees one consistent configuration.
type Server struct {
	configFile string
	logger     log.Logger // the adapter's own, with its component key
	baseLogger log.Logger // handed to the pools, which add their own key
	reg        prometheus.Registerer
	gatherer   prometheus.Gatherer
	metrics    *metrics
	workerM    *influxworker.Metrics
	metadata   metadataCache
	// refusals and skips limit the log lines of refused requests
	// (writeError) and of samples not written (encode).
	refusals, skips logLimiter

	reloadMu sync.Mutex
	state    atomic.Pointer[state]

	// stopHealth ends the background pings; healthDone is closed when they
	// have ended.
	stopHealth context.CancelFunc
	healthDone chan struct{}
}

// state is everything derived from one configuration file.
type state struct {
	cfg    *Config
	router *mapping.Router
	pools  map[string]*influxworker.Pool
	rp     map[string]string // retention policy by database name, for reads
	// writeSlots holds a token per remote-write request being decoded or
	// encoded (write.max_concurrency).
	writeSlots chan struct{}
	// backlogSlots holds, on top of its writeSlots token, the token of
	// each request decoded while more write requests are in flight than
	// writeSlots holds (backlogged): GOMAXPROCS - 1 of them, at least one,
	// so that a core is left for everything else.
	backlogSlots chan struct{}
	// congestedSlot holds the token of the one request decoded at a time
	// while a database's pool is saturated, on top of its writeSlots token.
	congestedSlot chan struct{}
	// writesInFlight counts the write requests admitted whose body is
	// being read, or waits for or has its turn to be decoded.
	writesInFlight atomic.Int64
	// readSlots holds one token per read request being answered, and per
	// selector of a query being read.
	readSlots chan struct{}
	// engine evaluates the queries of query, the query API, over the
	// read path.
	engine *promapi.Engine
	query  *promapi.API
}

// New loads the configuration file and builds the pools. It fails on an
// invalid configuration; a database that is down is not an error.
func New(configFile string, logger log.Logger, reg *prometheus.Registry) (*Server, error) {
	s := &Server{
		configFile: configFile,
		logger:     log.With(logger, "component", "adapter"),
		baseLogger: logger,
		reg:        reg,
		gatherer:   reg,
		metrics:    newMetrics(reg),
		workerM:    influxworker.NewMetrics(reg),
	}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopHealth, s.healthDone = cancel, make(chan struct{})
	go s.watchHealth(ctx)
	return s, nil
}

// Reload reads the configuration file again and, if it is valid, replaces
// the running configuration. Requests in flight finish on the old one.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	err := s.reload()
	if err != nil {
		s.metrics.reloadSuccess.Set(0)
		return err
	}
	s.metrics.reloadSuccess.Set(1)
	s.metrics.reloadTime.SetToCurrentTime()
	return nil
}

func (s *Server) reload() error {
	cfg, err := LoadConfigFile(s.configFile)
	if err != nil {
		return err
	}
	st, err := newState(cfg, s.configFile, s.baseLogger, s.workerM)
	if err != nil {
		// The pools built before the failure exported series: those of
		// databases that are not running must not stay.
		running := s.state.Load()
		for _, d := range cfg.Databases {
			if running == nil || running.pools[d.Name] == nil {
				s.workerM.Remove(d.Name)
			}
		}
		return err
	}
	s.ensureDatabases(cfg, st.pools)
	st.engine = s.queryEngine(cfg.Query, s.state.Load())
	st.query = promapi.NewAPI(st.engine, newQueryable(s, st), s.baseLogger)
	for name := range st.pools {
		s.metrics.samplesReceived.WithLabelValues(name) // at 0 from the start
	}
	old := s.state.Swap(st)
	if old != nil {
		closePools(old.pools)
		for name := range old.pools {
			if st.pools[name] == nil {
				s.workerM.Remove(name)
				s.metrics.samplesReceived.DeleteLabelValues(name)
			}
		}
	}
	level.Info(s.logger).Log("msg", "configuration loaded", "file", s.configFile, "databases", len(st.pools), "routes", len(cfg.Routes))
	for _, dbc := range cfg.Databases {
		logDatabase(s.logger, dbc, st.pools[dbc.Name])
	}
	return nil
}

// queryEngine is the engine of the query API under cfg: the running one
// when its bounds are the same, so that the queries it runs keep their
// turns and its metrics their values, or else a new one, whose metrics
// replace the running one's. (Reloads are serialised by reloadMu.)
func (s *Server) queryEngine(cfg promapi.Config, running *state) *promapi.Engine {
	if running != nil {
		if running.engine.Config() == cfg {
			return running.engine
		}
		running.engine.Close()
	}
	return promapi.NewEngine(cfg, s.baseLogger, s.reg)
}

// logDatabase logs how promflux talks to one database, the defaults it
// resolved included.
func logDatabase(logger log.Logger, dbc influxworker.Config, p *influxworker.Pool) {
	kv := []any{"msg", "database", "name", dbc.Name, "url", redactedURL(dbc.URL), "database", dbc.Database}
	if dbc.Transport == influxworker.TransportUDP {
		level.Info(logger).Log(append(kv, "transport", dbc.Transport)...)
		return
	}
	gzip := map[bool]string{true: "on", false: "off"}[p.Gzip()]
	switch {
	case dbc.Pool.Gzip != nil:
		gzip += " (pool.gzip)"
	case p.Gzip():
		gzip += " (default: not a loopback host)"
	default:
		gzip += " (default: loopback host, nothing to save on the network)"
	}
	level.Info(logger).Log(append(kv, "workers", dbc.Pool.Workers, "gzip", gzip, "read_endpoint", cmp.Or(dbc.ReadEndpoint, influxworker.ReadAuto))...)
}

// redactedURL is u with any password replaced by "xxxxx".
func redactedURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	return parsed.Redacted()
}

// newState builds the router and the pools of cfg, loaded from
// configFile. It does no network I/O.
func newState(cfg *Config, configFile string, logger log.Logger, m *influxworker.Metrics) (*state, error) {
	router, err := mapping.NewRouter(cfg.Routes, cfg.DefaultDatabase)
	if err != nil {
		return nil, fmt.Errorf("invalid config file %s: %w", configFile, err)
	}
	pools := make(map[string]*influxworker.Pool, len(cfg.Databases))
	rp := make(map[string]string, len(cfg.Databases))
	for _, dbc := range cfg.Databases {
		rp[dbc.Name] = dbc.RetentionPolicy
		p, err := influxworker.New(dbc, logger, m)
		if err != nil {
			closePools(pools)
			// The pool's errors name the database already.
			return nil, fmt.Errorf("invalid config file %s: %w", configFile, err)
		}
		pools[dbc.Name] = p
	}
	return &state{
		cfg: cfg, router: router, pools: pools, rp: rp,
		writeSlots:    make(chan struct{}, cfg.Write.concurrency()),
		backlogSlots:  make(chan struct{}, cfg.Write.backlogConcurrency()),
		congestedSlot: make(chan struct{}, 1),
		readSlots:     make(chan struct{}, cfg.Read.MaxConcurrency),
	}, nil
}

// ensureDatabases creates the databases configured with create_database.
// Failures are logged, not fatal: the pools create a missing database again
// when a write finds it gone.
func (s *Server) ensureDatabases(cfg *Config, pools map[string]*influxworker.Pool) {
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, dbc := range cfg.Databases {
		if !dbc.CreateDatabase {
			continue
		}
		p := pools[dbc.Name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.EnsureDatabase(ctx); err != nil {
				level.Warn(s.logger).Log("msg", "cannot create database, will retry on write", "database", dbc.Name, "err", err)
			}
		}()
	}
	wg.Wait()
}

// Close stops the background pings and releases the pools' idle
// connections.
func (s *Server) Close() {
	s.stopHealth()
	<-s.healthDone
	if st := s.state.Load(); st != nil {
		closePools(st.pools)
	}
}

func closePools(pools map[string]*influxworker.Pool) {
	for _, p := range pools {
		p.Close()
	}
}

// Handler returns the HTTP handler serving every promflux endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, name string, h http.HandlerFunc) {
		mux.Handle(pattern, promhttp.InstrumentHandlerDuration(
			s.metrics.requestDuration.MustCurryWith(prometheus.Labels{"handler": name}), h))
	}
	handle("POST /api/v1/write", "write", s.handleWrite)
	handle("POST /api/v1/read", "read", s.handleRead)
	// The paths of Prometheus's example remote_storage_adapter, so that
	// its users only change the host.
	handle("POST /write", "write", s.handleWrite)
	handle("POST /read", "read", s.handleRead)
	// Prometheus's query API. Prometheus takes GET alone for label
	// values and metadata; a POST with a form body is answered the same.
	for _, method := range []string{"GET ", "POST "} {
		handle(method+"/api/v1/query", "query", s.queryAPI((*promapi.API).Query))
		handle(method+"/api/v1/query_range", "query_range", s.queryAPI((*promapi.API).QueryRange))
		handle(method+"/api/v1/labels", "labels", s.queryAPI((*promapi.API).Labels))
		handle(method+"/api/v1/label/{name}/values", "label_values", s.queryAPI((*promapi.API).LabelValues))
		handle(method+"/api/v1/series", "series", s.queryAPI((*promapi.API).Series))
		handle(method+"/api/v1/metadata", "metadata", s.queryAPI((*promapi.API).Metadata))
		handle(method+"/api/v1/query_exemplars", "query_exemplars", s.queryAPI((*promapi.API).QueryExemplars))
	}
	handle("GET /api/v1/status/buildinfo", "buildinfo", s.queryAPI((*promapi.API).BuildInfo))
	handle("GET /-/healthy", "healthy", s.handleHealthy)
	handle("GET /-/ready", "ready", s.handleReady)
	handle("POST /-/reload", "reload", s.handleReload)
	handle("PUT /-/reload", "reload", s.handleReload)
	handle("GET /config", "config", s.handleConfig)
	if landing, err := landingPage(); err == nil {
		mux.Handle("GET /{$}", landing)
	} else {
		level.Error(s.logger).Log("msg", "no landing page", "err", err)
	}
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(s.reg,
		promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{ErrorLog: stdLogger{s.logger}})))
	return mux
}

// stdLogger lets promhttp report gathering errors through go-kit/log.
type stdLogger struct{ logger log.Logger }

func (l stdLogger) Println(v ...interface{}) {
	level.Error(l.logger).Log("msg", fmt.Sprint(v...))
}
