// Command promflux is a Prometheus remote storage adapter for InfluxDB: it
// takes Prometheus remote-write requests and stores their samples in
// InfluxDB databases chosen by routing rules.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	sloggokit "github.com/tjhop/slog-gokit"

	"github.com/promflux/promflux/adapter"
)

// shutdownTimeout is how long in-flight requests get to finish after
// SIGTERM. It is above the adapter's database timeouts so that a request
// waiting on InfluxDB can still be answered, and below Kubernetes' default
// 30s grace period.
const shutdownTimeout = 25 * time.Second

func main() { os.Exit(run()) }

func run() int {
	app := kingpin.New("promflux", "Prometheus remote storage adapter for InfluxDB.")
	configFile := app.Flag("config.file", "promflux configuration file.").Default("config.yml").String()
	configCheck := app.Flag("config.check", "Check the configuration file and exit.").Bool()
	logLevel := app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").Enum("debug", "info", "warn", "error")
	logFormat := app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").Enum("logfmt", "json")
	webConfig := kingpinflag.AddFlags(app, ":9201")
	app.Version(version.Print("promflux"))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	logger := newLogger(*logLevel, *logFormat)

	if *configCheck {
		if err := adapter.CheckConfigFile(*configFile, logger); err != nil {
			level.Error(logger).Log("msg", "configuration is invalid", "err", err)
			return 1
		}
		level.Info(logger).Log("msg", "configuration is valid", "file", *configFile)
		return 0
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		versioncollector.NewCollector("promflux"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	srv, err := adapter.New(*configFile, logger, reg)
	if err != nil {
		level.Error(logger).Log("msg", "cannot start", "err", err)
		return 1
	}
	defer srv.Close()

	httpServer := srv.HTTPServer()
	serveErr := make(chan error, 1)
	go func() {
		level.Info(logger).Log("msg", "starting promflux", "version", version.Info())
		serveErr <- web.ListenAndServe(httpServer, webConfig, slog.New(sloggokit.NewGoKitHandler(logger, nil)))
	}()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	for {
		select {
		case <-hup:
			if err := srv.Reload(); err != nil {
				level.Error(logger).Log("msg", "reload failed, keeping the running configuration", "err", err)
			}
		case err := <-serveErr:
			level.Error(logger).Log("msg", "cannot serve", "err", err)
			return 1
		case sig := <-term:
			level.Info(logger).Log("msg", "shutting down, finishing in-flight requests", "signal", sig)
			ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			if err := httpServer.Shutdown(ctx); err != nil {
				level.Error(logger).Log("msg", "in-flight requests did not finish in time", "err", err)
				return 1
			}
			if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
				level.Error(logger).Log("msg", "server stopped with an error", "err", err)
			}
			level.Info(logger).Log("msg", "stopped")
			return 0
		}
	}
}

// newLogger builds the go-kit logger the flags ask for, with timestamps and
// the caller on every line.
func newLogger(lvl, format string) log.Logger {
	w := log.NewSyncWriter(os.Stderr)
	logger := log.NewLogfmtLogger(w)
	if format == "json" {
		logger = log.NewJSONLogger(w)
	}
	logger = level.NewFilter(logger, level.Allow(level.ParseDefault(lvl, level.InfoValue())))
	return log.With(logger, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
}
