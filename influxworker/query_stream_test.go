package influxworker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeInflux is an httptest server that answers /query as serve says,
// standing in for InfluxDB where influxd cannot be made to misbehave.
func fakeInflux(t *testing.T, serve func(w http.ResponseWriter, r *http.Request)) *Pool {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(serve))
	t.Cleanup(ts.Close)
	return newTestPool(t, ts.URL, nil, func(c *Config) { c.Username, c.Password = "u", "p" })
}

const fakeChunk = `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,1]],"partial":true}],"partial":true}]}` + "\n"

func TestQueryStreamRequest(t *testing.T) {
	var got *http.Request
	var form string
	p := fakeInflux(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		form = string(b)
		fmt.Fprint(w, `{"results":[{"statement_id":0}]}`)
	})
	p.chunkSize = 123
	q := `SELECT "value"::field FROM "m" WHERE "k"::tag = 'a&b=c'`
	if err := p.QueryStream(context.Background(), q, func(*SeriesChunk) error { return nil }); err != nil {
		t.Fatal(err)
	}
	user, pass, _ := got.BasicAuth()
	query := got.URL.Query()
	if got.Method != http.MethodPost || got.URL.Path != "/query" || got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		query.Get("db") != "db" || query.Get("epoch") != "ms" || query.Get("chunked") != "true" || query.Get("chunk_size") != "123" ||
		query.Has("q") || user != "u" || pass != "p" {
		t.Fatalf("request %s %s %v", got.Method, got.URL, got.Header)
	}
	if want := "q=" + strings.NewReplacer(" ", "+", `"`, "%22", ":", "%3A", "=", "%3D", "'", "%27", "&", "%26").Replace(q); form != want {
		t.Fatalf("body %q, want %q", form, want)
	}
}

func TestQueryStreamBrokenAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(w http.ResponseWriter)
		want  string
		is    error
	}{
		{
			name: "connection cut inside a chunk",
			serve: func(w http.ResponseWriter) {
				fmt.Fprint(w, fakeChunk+`{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[2,`)
				cut(w)
			},
			want: "inside a chunk: unexpected EOF",
			is:   io.ErrUnexpectedEOF,
		},
		{
			name: "connection cut between chunks",
			serve: func(w http.ResponseWriter) {
				fmt.Fprint(w, fakeChunk)
				cut(w)
			},
			want: "cannot read query response after 131 bytes: unexpected EOF",
			is:   io.ErrUnexpectedEOF,
		},
		{
			name:  "answer ends inside a partial result",
			serve: func(w http.ResponseWriter) { fmt.Fprint(w, fakeChunk) },
			want:  "answer ended after 131 bytes inside a partial result",
		},
		{
			name: "error after data",
			serve: func(w http.ResponseWriter) {
				fmt.Fprint(w, fakeChunk+`{"results":[{"statement_id":0,"error":"max-select-point limit exceeded: (10/5)"}]}`+"\n")
			},
			want: `influxdb "test": query_stream: 200 OK: statement 0: max-select-point limit exceeded: (10/5)`,
		},
		{
			name: "server error",
			serve: func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, `{"error":"engine closed"}`)
			},
			want: `influxdb "test": query_stream: 500 Internal Server Error: engine closed`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fakeInflux(t, func(w http.ResponseWriter, _ *http.Request) { tc.serve(w) })
			calls := 0
			err := p.QueryStream(context.Background(), "SELECT 1", func(*SeriesChunk) error { calls++; return nil })
			var e *Error
			if !errors.As(err, &e) || e.Permanent || !strings.Contains(err.Error(), tc.want) || tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want retryable %q", err, tc.want)
			}
			if strings.Count(err.Error(), "influxdb ") != 1 {
				t.Errorf("error wrapped twice: %v", err)
			}
		})
	}
}

// cut flushes what was written and drops the connection without ending the
// chunked body.
func cut(w http.ResponseWriter) {
	w.(http.Flusher).Flush()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func TestQueryStreamLongerThanPoolTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	p := fakeInflux(t, func(w http.ResponseWriter, _ *http.Request) {
		for range 3 {
			fmt.Fprint(w, fakeChunk)
			w.(http.Flusher).Flush()
			time.Sleep(timeout)
		}
		fmt.Fprint(w, `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[2,2]]}]}]}`)
	})
	p.timeout = timeout
	calls := 0
	err := p.QueryStream(context.Background(), "SELECT 1", func(c *SeriesChunk) error {
		calls++
		if got := value(t, p.metrics.inflight); got != 1 {
			t.Errorf("%v requests in flight while streaming, want 1 holding a worker", got)
		}
		return nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("got %v after %d calls, want success after 4", err, calls)
	}
}

func TestQueryStreamCancelStalled(t *testing.T) {
	// The fake sends one chunk and then nothing until the client goes away.
	p := fakeInflux(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, fakeChunk)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- p.QueryStream(ctx, "SELECT 1", func(*SeriesChunk) error { return nil })
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || Reason(err) != ReasonTimeout {
			t.Fatalf("got %v, want deadline exceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("QueryStream did not return after its context ended")
	}
}

// TestSeriesChunkCell: column 0 is Values, the others Extra; past them a
// cell is NaN; text cells come from Text, "" without it.
func TestSeriesChunkCell(t *testing.T) {
	c := &SeriesChunk{
		Times:  []int64{1, 2},
		Values: []float64{1.5, math.NaN()},
		Extra:  [][]float64{{2.5, 3.5}},
		Text:   [][]string{{"", "a"}, {"", ""}},
	}
	for _, tc := range []struct {
		col, row int
		num      float64
		text     string
	}{
		{0, 0, 1.5, ""}, {0, 1, math.NaN(), "a"}, {1, 0, 2.5, ""}, {1, 1, 3.5, ""}, {2, 0, math.NaN(), ""},
	} {
		num, text := c.Cell(tc.col, tc.row)
		if math.Float64bits(num) != math.Float64bits(tc.num) && !(math.IsNaN(num) && math.IsNaN(tc.num)) || text != tc.text {
			t.Errorf("Cell(%d, %d) = %v, %q; want %v, %q", tc.col, tc.row, num, text, tc.num, tc.text)
		}
	}
	if num, text := (&SeriesChunk{Times: []int64{1}, Values: []float64{4}}).Cell(3, 0); !math.IsNaN(num) || text != "" {
		t.Errorf("Cell past the columns, without Text = %v, %q; want NaN, \"\"", num, text)
	}
}
