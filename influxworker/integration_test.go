package influxworker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// These tests run against a real influxd; `go test -short` skips them.

func TestInfluxDBWriteQuery(t *testing.T) {
	s := influxtest.Start(t)
	ctx := context.Background()

	p := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database = `prom "main"` })
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := p.Post(ctx, `CREATE DATABASE "prom \"main\""`); err != nil {
		t.Fatalf("Post CREATE DATABASE: %v", err)
	}

	lines := "up,instance=a:9100,job=node value=1 1700000000123\n" +
		"up,instance=b:9100,job=node value=0.1 1700000000456\n" +
		`big,job=x value=9007199254740993i 1700000000789` + "\n"
	if err := p.Write(ctx, []byte(lines)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := value(t, p.metrics.pointsWritten); got != 3 {
		t.Errorf("points written %v, want 3", got)
	}

	resp, err := p.Query(ctx, `SELECT "value" FROM "up" GROUP BY "instance"`)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	want := []Series{
		{Name: "up", Tags: map[string]string{"instance": "a:9100"}, Columns: []string{"time", "value"}, Values: [][]any{{json.Number("1700000000123"), json.Number("1")}}},
		{Name: "up", Tags: map[string]string{"instance": "b:9100"}, Columns: []string{"time", "value"}, Values: [][]any{{json.Number("1700000000456"), json.Number("0.1")}}},
	}
	if len(resp.Results) != 1 || !reflect.DeepEqual(resp.Results[0].Series, want) {
		t.Fatalf("Query = %+v\nwant %+v", resp.Results, want)
	}
	resp, err = p.Query(ctx, `SELECT "value" FROM "big"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Results[0].Series[0].Values[0][1]; got != json.Number("9007199254740993") {
		t.Fatalf("int64 value %v, want 9007199254740993 exactly", got)
	}

	t.Run("field type conflict is permanent", func(t *testing.T) {
		err := p.Write(ctx, []byte("up,instance=a:9100,job=node value=\"down\" 1700000001000\n"))
		var e *Error
		if !errors.As(err, &e) || !e.Permanent || e.StatusCode != 400 || Reason(err) != ReasonRejected {
			t.Fatalf("got %v, want permanent 400", err)
		}
		if !strings.Contains(e.Message, "field type conflict") || !strings.Contains(e.Message, `input field "value" on measurement "up"`) {
			t.Fatalf("message %q lacks InfluxDB's reason", e.Message)
		}
	})

	t.Run("unparsable line is permanent", func(t *testing.T) {
		err := p.Write(ctx, []byte("no fields here\n"))
		if !IsPermanent(err) || !strings.Contains(err.Error(), "unable to parse 'no fields here'") {
			t.Fatalf("got %v, want permanent unable to parse", err)
		}
	})

	t.Run("unknown retention policy is retryable", func(t *testing.T) {
		q := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database, c.RetentionPolicy = `prom "main"`, "nope" })
		err := q.Write(ctx, []byte("up value=1 1\n"))
		if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "retention policy not found") {
			t.Fatalf("got %v, want retryable retention policy not found", err)
		}
	})

	t.Run("statement error", func(t *testing.T) {
		resp, err := p.Query(ctx, `SELECT * FROM "up"; SELECT * FROM "nope"."autogen"."up"`)
		if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "statement 1: database not found: nope") {
			t.Fatalf("got %v, want statement 1 error", err)
		}
		if resp == nil || len(resp.Results) != 2 || len(resp.Results[0].Series) != 1 {
			t.Fatalf("want the first statement's results along with the error, got %+v", resp)
		}
	})

	t.Run("query parse error is permanent", func(t *testing.T) {
		_, err := p.Query(ctx, "SELEC 1")
		if !IsPermanent(err) || !strings.Contains(err.Error(), "400 Bad Request: error parsing query") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestInfluxDBSplitWrite(t *testing.T) {
	s := influxtest.Start(t)
	s.CreateDatabase(t, "split")
	const n = 500
	var body bytes.Buffer
	for i := range n {
		fmt.Fprintf(&body, "m,series=s%d value=%d %d\n", i%7, i, 1700000000000+int64(i))
	}
	p := newTestPool(t, s.URL(), nil, func(c *Config) {
		c.Database = "split"
		c.Pool.MaxBodyBytes = 1 * units.KiB
		c.Pool.Workers = 4
	})
	if err := p.Write(context.Background(), body.Bytes()); err != nil {
		t.Fatal(err)
	}
	parts := value(t, p.metrics.m.requests.WithLabelValues("test", OpWrite, "204"))
	if wantMin := float64(body.Len() / 1024); parts < wantMin {
		t.Errorf("%v write requests for %d bytes, want at least %v", parts, body.Len(), wantMin)
	}
	got := s.Query(t, "split", `SELECT count("value"), sum("value") FROM "m"`)
	wantSum := json.Number(fmt.Sprint(n * (n - 1) / 2))
	if len(got) != 1 || got[0].Values[0][1] != json.Number(fmt.Sprint(n)) || got[0].Values[0][2] != wantSum {
		t.Fatalf("stored %+v, want count %d sum %s", got, n, wantSum)
	}
}

// TestInfluxDBGzipWrite checks that influxd decompresses gzip bodies: a
// compressed body it took as plain text would be refused as unparsable.
func TestInfluxDBGzipWrite(t *testing.T) {
	s := influxtest.Start(t)
	s.CreateDatabase(t, "gz")
	for i, gzip := range []bool{true, false} {
		t.Run(fmt.Sprintf("gzip=%v", gzip), func(t *testing.T) {
			p := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database, c.Pool.Gzip = "gz", new(gzip) })
			if err := p.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !p.isInflux.Load() {
				t.Fatal("influxd's answer to ping did not identify it as InfluxDB")
			}
			m := fmt.Sprintf("m%d", i)
			lines := m + ",job=a value=1.5 1700000000000\n" + m + ",job=b value=2 1700000000001\n"
			if err := p.Write(context.Background(), []byte(lines)); err != nil {
				t.Fatal(err)
			}
			got := s.Query(t, "gz", `SELECT "job", "value" FROM "`+m+`"`)
			want := [][]any{
				{json.Number("1700000000000"), "a", json.Number("1.5")},
				{json.Number("1700000000001"), "b", json.Number("2")},
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0].Values, want) {
				t.Fatalf("stored %+v, want %v", got, want)
			}
		})
	}
}

func TestInfluxDBMissingDatabase(t *testing.T) {
	s := influxtest.Start(t)
	ctx := context.Background()
	const line = "m value=42 1700000000000\n"

	t.Run("without create_database", func(t *testing.T) {
		p := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database = "absent" })
		err := p.Write(ctx, []byte(line))
		var e *Error
		if !errors.As(err, &e) || e.Permanent || e.StatusCode != 404 || !strings.Contains(e.Message, `database not found: "absent"`) {
			t.Fatalf("got %v, want retryable 404 database not found", err)
		}
	})

	t.Run("with create_database", func(t *testing.T) {
		p := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database, c.CreateDatabase = "created on write", true })
		if err := p.Write(ctx, []byte(line)); err != nil {
			t.Fatal(err)
		}
		got := s.Query(t, "created on write", `SELECT "value" FROM "m"`)
		if len(got) != 1 || got[0].Values[0][1] != json.Number("42") {
			t.Fatalf("stored %+v", got)
		}
	})

	t.Run("EnsureDatabase", func(t *testing.T) {
		p := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database = `ensure "me"` })
		for range 2 { // idempotent
			if err := p.EnsureDatabase(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Write(ctx, []byte(line)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestInfluxDBDownAndHung(t *testing.T) {
	s := influxtest.Start(t)
	s.CreateDatabase(t, "db")
	ctx := context.Background()
	const timeout = 500 * time.Millisecond
	p := newTestPool(t, s.URL(), nil, func(c *Config) {
		c.Pool.Timeout = model.Duration(timeout)
		// One attempt, so that the hung case measures pool.timeout alone.
		c.Pool.Retry.MaxAttempts = 1
	})
	line := []byte("m value=1 1700000000000\n")
	if err := p.Write(ctx, line); err != nil {
		t.Fatal(err)
	}

	s.Stop()
	for name, op := range map[string]func() error{
		"ping":  func() error { return p.Ping(ctx) },
		"write": func() error { return p.Write(ctx, line) },
	} {
		err := op()
		if err == nil || IsPermanent(err) || Reason(err) != ReasonUnavailable {
			t.Fatalf("%s with influxd stopped: %v (reason %q), want retryable unavailable", name, err, Reason(err))
		}
	}

	s.Restart()
	if err := p.Write(ctx, line); err != nil {
		t.Fatalf("write after restart: %v", err)
	}

	s.Pause()
	start := time.Now()
	err := p.Write(ctx, line)
	elapsed := time.Since(start)
	s.Resume()
	if !IsTimeout(err) || !errors.Is(err, context.DeadlineExceeded) || IsPermanent(err) {
		t.Fatalf("write to paused influxd: %v, want retryable timeout", err)
	}
	if elapsed > 4*timeout {
		t.Errorf("timeout after %s, want about %s", elapsed, timeout)
	}
	if err := p.Write(ctx, line); err != nil {
		t.Fatalf("write after resume: %v", err)
	}
}
