package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// sinkMaxBodyBytes is InfluxDB 1.x's default max-body-size: larger
// decoded write bodies are refused with 413, as InfluxDB does.
const sinkMaxBodyBytes = 25_000_000

// sinkVersion is what the fake answers in X-Influxdb-Version: clients that
// look for the header (promflux gzips its writes once it saw it) treat the
// fake as InfluxDB, and the value says it is not one.
const sinkVersion = "fake-sink"

type sinkOptions struct {
	listen    string
	validate  bool
	noVersion bool
	quiet     bool
}

// sink is a fake InfluxDB 1.x: it answers /ping, the /query statements
// a writer sends at start (CREATE DATABASE, SHOW DATABASES) and /write,
// whose lines it counts and drops. It stores nothing, so that what is
// measured is the writer alone.
type sink struct {
	validate  bool
	noVersion bool

	lines     atomic.Int64
	bodies    atomic.Int64
	bytes     atomic.Int64 // decoded line protocol
	wireBytes atomic.Int64 // as received, compressed or not
	rejected  atomic.Int64 // bodies answered with an error

	mu        sync.Mutex
	databases []string

	bufs sync.Pool // *bytes.Buffer
	gzip sync.Pool // *gzip.Reader
}

// sinkStats is the JSON answer of /debug/sink.
type sinkStats struct {
	Lines          int64    `json:"lines"`
	Bodies         int64    `json:"bodies"`
	Bytes          int64    `json:"bytes"`
	WireBytes      int64    `json:"wire_bytes"`
	RejectedBodies int64    `json:"rejected_bodies"`
	Databases      []string `json:"databases"`
}

func (s *sink) stats() sinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sinkStats{
		Lines: s.lines.Load(), Bodies: s.bodies.Load(), Bytes: s.bytes.Load(),
		WireBytes: s.wireBytes.Load(), RejectedBodies: s.rejected.Load(),
		Databases: slices.Clone(s.databases),
	}
}

func (s *sink) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/query", s.handleQuery)
	mux.HandleFunc("POST /write", s.handleWrite)
	mux.HandleFunc("GET /debug/sink", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.stats())
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.noVersion {
			w.Header().Set("X-Influxdb-Version", sinkVersion)
			w.Header().Set("X-Influxdb-Build", "OSS")
		}
		mux.ServeHTTP(w, r)
	})
}

// influxError answers as InfluxDB does: a JSON object with "error", and
// the same text in X-Influxdb-Error.
func influxError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Influxdb-Error", msg)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *sink) handleWrite(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("db") == "" {
		s.rejected.Add(1)
		influxError(w, http.StatusBadRequest, "database is required")
		return
	}
	wire := &countingReader{r: r.Body}
	var body io.Reader = wire
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, _ := s.gzip.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(wire)
		} else {
			err = zr.Reset(wire)
		}
		if err != nil {
			s.rejected.Add(1)
			influxError(w, http.StatusBadRequest, "cannot read gzip body: "+err.Error())
			return
		}
		defer s.gzip.Put(zr)
		body = zr
	}
	buf, _ := s.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer s.bufs.Put(buf)

	lines, size, err := s.consume(buf, io.LimitReader(body, sinkMaxBodyBytes+1))
	s.wireBytes.Add(wire.n)
	s.bytes.Add(size)
	s.lines.Add(int64(lines))
	switch {
	case size > sinkMaxBodyBytes:
		s.rejected.Add(1)
		influxError(w, http.StatusRequestEntityTooLarge, "http: request body too large")
	case err != nil:
		s.rejected.Add(1)
		influxError(w, http.StatusBadRequest, err.Error())
	default:
		s.bodies.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}
}

// consume reads a write body. Counting reads it in fixed-size pieces into
// buf's storage and counts '\n' bytes; validating needs whole lines, so
// it reads the body whole into buf first.
func (s *sink) consume(buf *bytes.Buffer, body io.Reader) (lines int, size int64, err error) {
	buf.Reset()
	if s.validate {
		size, err = buf.ReadFrom(body)
		if err != nil {
			return 0, size, fmt.Errorf("cannot read body: %w", err)
		}
		lines, err = validateBody(buf.Bytes())
		return lines, size, err
	}
	buf.Grow(64 << 10)
	piece := buf.AvailableBuffer()[:64<<10]
	var last byte = '\n'
	for {
		n, rerr := body.Read(piece)
		if n > 0 {
			lines += bytes.Count(piece[:n], []byte{'\n'})
			last = piece[n-1]
			size += int64(n)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return lines, size, fmt.Errorf("cannot read body: %w", rerr)
		}
	}
	if last != '\n' {
		lines++
	}
	return lines, size, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// queryResult is one statement's result in InfluxDB 1.x's JSON.
type queryResult struct {
	StatementID int           `json:"statement_id"`
	Series      []querySeries `json:"series,omitempty"`
	Err         string        `json:"error,omitempty"`
}

type querySeries struct {
	Name    string     `json:"name"`
	Columns []string   `json:"columns"`
	Values  [][]string `json:"values,omitempty"`
}

// handleQuery answers the statements a writer sends: CREATE DATABASE
// (remembered), SHOW DATABASES (those), other SHOW statements and SELECT
// with empty results, anything else with a statement error.
func (s *sink) handleQuery(w http.ResponseWriter, r *http.Request) {
	q := r.FormValue("q")
	if strings.TrimSpace(q) == "" {
		influxError(w, http.StatusBadRequest, `missing required parameter "q"`)
		return
	}
	var results []queryResult
	for _, stmt := range strings.Split(q, ";") {
		stmt = strings.TrimSpace(stmt)
		if stmt == "" {
			continue
		}
		res := queryResult{StatementID: len(results)}
		upper := strings.ToUpper(stmt)
		switch {
		case strings.HasPrefix(upper, "CREATE DATABASE "):
			name := strings.TrimSpace(stmt[len("CREATE DATABASE "):])
			if f := strings.Fields(name); len(f) > 0 {
				name = f[0]
			}
			s.createDatabase(unquoteIdent(name))
		case upper == "SHOW DATABASES":
			res.Series = []querySeries{{Name: "databases", Columns: []string{"name"}}}
			for _, db := range s.stats().Databases {
				res.Series[0].Values = append(res.Series[0].Values, []string{db})
			}
		case strings.HasPrefix(upper, "SHOW "), strings.HasPrefix(upper, "SELECT "):
		default:
			res.Err = "the fake sink does not run this statement: " + stmt
		}
		results = append(results, res)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string][]queryResult{"results": results})
}

func (s *sink) createDatabase(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.databases, name) {
		s.databases = append(s.databases, name)
	}
}

// unquoteIdent undoes InfluxQL's double-quoting of an identifier.
func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(s[1 : len(s)-1])
	}
	return s
}

// runSink serves the fake until SIGINT or SIGTERM, reporting lines/s on
// stderr every second that something arrived and the totals on exit.
func runSink(o *sinkOptions) error {
	s := &sink{validate: o.validate, noVersion: o.noVersion}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", o.listen, err)
	}
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	mode := "counting"
	if o.validate {
		mode = "validating"
	}
	fmt.Fprintf(os.Stderr, "sink: fake InfluxDB (%s lines, storing nothing) on http://%s\n", mode, ln.Addr())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var (
		prev             int64
		first, lastLines time.Time
	)
	begin := time.Now()
	for {
		select {
		case err := <-serveErr:
			return fmt.Errorf("fake sink stopped serving: %w", err)
		case <-tick.C:
			n := s.lines.Load()
			if n == prev {
				continue
			}
			if first.IsZero() {
				first = time.Now().Add(-time.Second)
			}
			lastLines = time.Now()
			if !o.quiet {
				fmt.Fprintf(os.Stderr, "sink: %d lines/s, %d lines in total\n", n-prev, n)
			}
			prev = n
		case <-sig:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			st := s.stats()
			rate := ""
			if !first.IsZero() {
				rate = fmt.Sprintf(", %.0f lines/s while receiving", float64(st.Lines)/lastLines.Sub(first).Seconds())
			}
			fmt.Fprintf(os.Stderr, "sink: %d lines in %d bodies (%d bytes, %d on the wire), %d bodies rejected, in %v%s\n",
				st.Lines, st.Bodies, st.Bytes, st.WireBytes, st.RejectedBodies, time.Since(begin).Round(time.Second), rate)
			return nil
		}
	}
}
