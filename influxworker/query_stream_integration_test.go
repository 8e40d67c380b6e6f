package influxworker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// collected is what a QueryStream delivered for one series.
type collected struct {
	times  []int64
	values []float64
	chunks int
}

// collect returns a callback that gathers the rows of every series by name
// and tags, checking that a series' rows come in one run of chunks that are
// partial but for the last.
func collect(t *testing.T, got map[string]*collected) func(*SeriesChunk) error {
	open := ""
	return func(c *SeriesChunk) error {
		key := c.Name + fmt.Sprint(c.Tags)
		if open != "" && key != open {
			t.Errorf("series %s interrupted by %s", open, key)
		}
		s := got[key]
		if s == nil {
			s = &collected{}
			got[key] = s
		}
		s.times = append(s.times, c.Times...)
		s.values = append(s.values, c.Values...)
		s.chunks++
		open = ""
		if c.Partial {
			open = key
		}
		return nil
	}
}

func TestInfluxDBQueryStream(t *testing.T) {
	s := influxtest.Start(t)
	s.CreateDatabase(t, "db")
	ctx := context.Background()

	// Awkward floats must come back bit for bit.
	awkward := []float64{0.1 + tenth(2), 5e-324, 1e300, math.Copysign(0, -1), -math.MaxFloat64, 1.0 / 3, 123456789}
	const long = 25000
	var lines strings.Builder
	for i, v := range awkward {
		fmt.Fprintf(&lines, "m,job=a,instance=x value=%s %d\n", strconv.FormatFloat(v, 'g', -1, 64), 1000+i)
	}
	for i := range long {
		fmt.Fprintf(&lines, "m,job=b value=%d.25 %d\n", i, 2000+i)
	}
	lines.WriteString("m,instance=y value=7 3000\nother,job=c value=8 3000\n")
	s.Write(t, "db", lines.String())

	p := newTestPool(t, s.URL(), nil, nil)
	p.chunkSize = 1000

	t.Run("series with tags", func(t *testing.T) {
		got := map[string]*collected{}
		if err := p.QueryStream(ctx, `SELECT "value"::field FROM "m" GROUP BY *`, collect(t, got)); err != nil {
			t.Fatal(err)
		}
		a := got["mmap[instance:x job:a]"]
		b := got["mmap[instance: job:b]"]
		y := got["mmap[instance:y job:]"]
		if len(got) != 3 || a == nil || b == nil || y == nil {
			t.Fatalf("series %v, want 3 with every tag key", slices.Collect(maps.Keys(got)))
		}
		for i, v := range awkward {
			if a.times[i] != int64(1000+i) || math.Float64bits(a.values[i]) != math.Float64bits(v) {
				t.Errorf("row %d = %d %v, want %d %v", i, a.times[i], a.values[i], 1000+i, v)
			}
		}
		if len(b.times) != long || b.chunks != long/1000 {
			t.Fatalf("long series: %d rows in %d chunks, want %d in %d", len(b.times), b.chunks, long, long/1000)
		}
		for i := range long {
			if b.times[i] != int64(2000+i) || b.values[i] != float64(i)+0.25 {
				t.Fatalf("long series row %d = %d %v", i, b.times[i], b.values[i])
			}
		}
		if y.times[0] != 3000 || y.values[0] != 7 {
			t.Errorf("series y = %+v", y)
		}
	})

	t.Run("count discovery", func(t *testing.T) {
		var got []SeriesChunk
		err := p.QueryStream(ctx, `SELECT count("value"::field) FROM "m","other" WHERE time >= 1000ms AND time <= 2099ms GROUP BY *`, func(c *SeriesChunk) error {
			got = append(got, cloneChunk(c))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		cols := []string{"time", "count"}
		want := []SeriesChunk{
			{Name: "m", Tags: map[string]string{"instance": "", "job": "b"}, Columns: cols, Times: []int64{1000}, Values: []float64{100}},
			{Name: "m", Tags: map[string]string{"instance": "x", "job": "a"}, Columns: cols, Times: []int64{1000}, Values: []float64{float64(len(awkward))}},
		}
		if !sameChunks(got, want) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
	})

	t.Run("two value columns", func(t *testing.T) {
		// The shapes of reading samples stored as "value" or, for NaN and
		// Inf, as "special", and of counting both.
		s.CreateDatabase(t, "special")
		s.Write(t, "special", "m,t=a value=1 1000\nm,t=a special=3 2000\nm,t=b value=2 1000\nm,t=c special=-1 3000\n")
		q := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database = "special" })
		for _, tc := range []struct {
			query string
			want  []SeriesChunk
		}{
			{
				query: `SELECT "value"::field, "special"::field FROM m GROUP BY *`,
				want: []SeriesChunk{
					{Name: "m", Tags: map[string]string{"t": "a"}, Columns: []string{"time", "value", "special"},
						Times: []int64{1000, 2000}, Values: []float64{1, null}, Extra: [][]float64{{null, 3}}},
					{Name: "m", Tags: map[string]string{"t": "b"}, Columns: []string{"time", "value", "special"},
						Times: []int64{1000}, Values: []float64{2}, Extra: [][]float64{{null}}},
					{Name: "m", Tags: map[string]string{"t": "c"}, Columns: []string{"time", "value", "special"},
						Times: []int64{3000}, Values: []float64{null}, Extra: [][]float64{{-1}}},
				},
			},
			{
				// InfluxDB answers null, not 0, for the count of a field
				// the series lacks, in either column.
				query: `SELECT count("value"::field), count("special"::field) FROM m GROUP BY *`,
				want: []SeriesChunk{
					{Name: "m", Tags: map[string]string{"t": "a"}, Columns: []string{"time", "count", "count_1"},
						Times: []int64{0}, Values: []float64{1}, Extra: [][]float64{{1}}},
					{Name: "m", Tags: map[string]string{"t": "b"}, Columns: []string{"time", "count", "count_1"},
						Times: []int64{0}, Values: []float64{1}, Extra: [][]float64{{null}}},
					{Name: "m", Tags: map[string]string{"t": "c"}, Columns: []string{"time", "count", "count_1"},
						Times: []int64{0}, Values: []float64{null}, Extra: [][]float64{{1}}},
				},
			},
		} {
			var got []SeriesChunk
			if err := q.QueryStream(ctx, tc.query, func(c *SeriesChunk) error {
				got = append(got, cloneChunk(c))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !sameChunks(got, tc.want) {
				t.Errorf("%s:\ngot %+v\nwant %+v", tc.query, got, tc.want)
			}
		}
	})

	t.Run("strings and booleans", func(t *testing.T) {
		// The fields of a native histogram sample, which include strings,
		// a boolean and an integer; rows of one field only leave the others
		// null. Chunks of 2 rows: Text is per chunk.
		s.CreateDatabase(t, "hist")
		s.Write(t, "hist", `m h_count=6,h_sum=12.5,h_schema=3i,h_float=false,h_pos_spans="0:2,3:1",h_pos="1,1,-1" 1000`+"\n"+
			`m h_count=0 2000`+"\n"+
			`m h_float=true,h_pos="é \"q\" \\ x\ty`+"\t"+`z😀" 3000`+"\n")
		q := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database = "hist" })
		q.chunkSize = 2
		var got []SeriesChunk
		err := q.QueryStream(ctx, `SELECT "h_count"::field, "h_sum"::field, "h_schema"::field, "h_float"::field, "h_pos_spans"::field, "h_pos"::field FROM m GROUP BY *`,
			func(c *SeriesChunk) error {
				got = append(got, cloneChunk(c))
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		cols := []string{"time", "h_count", "h_sum", "h_schema", "h_float", "h_pos_spans", "h_pos"}
		want := []SeriesChunk{
			{Name: "m", Tags: map[string]string{}, Columns: cols, Times: []int64{1000, 2000}, Values: []float64{6, 0},
				Extra: [][]float64{{12.5, null}, {3, null}, {0, null}, {null, null}, {null, null}},
				Text:  [][]string{{"", ""}, {"", ""}, {"", ""}, {"", ""}, {"0:2,3:1", ""}, {"1,1,-1", ""}}, Partial: true},
			{Name: "m", Tags: map[string]string{}, Columns: cols, Times: []int64{3000}, Values: []float64{null},
				Extra: [][]float64{{null}, {null}, {1}, {null}, {null}},
				Text:  [][]string{{""}, {""}, {""}, {""}, {""}, {`é "q" \ x\ty` + "\t" + `z😀`}}},
		}
		if !sameChunks(got, want) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
	})

	t.Run("no data", func(t *testing.T) {
		calls := 0
		err := p.QueryStream(ctx, `SELECT "value"::field FROM "absent" GROUP BY *`, func(*SeriesChunk) error { calls++; return nil })
		if err != nil || calls != 0 {
			t.Fatalf("got %v after %d calls", err, calls)
		}
	})

	t.Run("missing database is retryable", func(t *testing.T) {
		q := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database = "missing" })
		err := q.QueryStream(ctx, `SELECT "value"::field FROM "m"`, func(*SeriesChunk) error { return nil })
		var e *Error
		if !errors.As(err, &e) || e.Permanent || e.Op != OpQueryStream ||
			err.Error() != `influxdb "test": query_stream: 200 OK: statement 0: database not found: missing` {
			t.Fatalf("got %v, want retryable database not found", err)
		}
	})

	t.Run("parse error is permanent", func(t *testing.T) {
		err := p.QueryStream(ctx, `SELECT "value"::field FROM "m" WHERE job =~ /(/`, func(*SeriesChunk) error { return nil })
		if !IsPermanent(err) || !strings.Contains(err.Error(), "query_stream: 400 Bad Request: error parsing query: error parsing regexp") {
			t.Fatalf("got %v, want permanent parse error", err)
		}
	})

	t.Run("callback error stops the stream", func(t *testing.T) {
		stop := errors.New("too many samples")
		calls := 0
		err := p.QueryStream(ctx, `SELECT "value"::field FROM "m" WHERE job = 'b'`, func(*SeriesChunk) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		if err != stop || calls != 3 {
			t.Fatalf("got %v after %d calls, want the callback's error after 3", err, calls)
		}
		// The connection was dropped, not drained: the pool still works.
		if err := p.QueryStream(ctx, `SELECT "value"::field FROM "m" WHERE job = 'a'`, func(*SeriesChunk) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		calls := 0
		err := p.QueryStream(ctx, `SELECT "value"::field FROM "m" WHERE job = 'b'`, func(*SeriesChunk) error {
			calls++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || Reason(err) != ReasonCanceled || calls != 1 {
			t.Fatalf("got %v after %d calls, want canceled after 1", err, calls)
		}
	})

	if got := value(t, p.metrics.m.requests.WithLabelValues("test", OpQueryStream, "200")); got < 6 {
		t.Errorf("%v query_stream requests counted, want at least 6", got)
	}
}

// tenth keeps 0.1+0.2 a float64 sum rather than an exact constant.
func tenth(n float64) float64 { return n / 10 }
