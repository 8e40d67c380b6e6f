package adapter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/mapping"
)

// recordingSink writes what it is given as "name:t=v,t=v;" per series.
type recordingSink struct {
	b    strings.Builder
	open bool
}

func (r *recordingSink) StartSeries(rs *readSeries) error {
	if r.open {
		return fmt.Errorf("StartSeries(%s) inside a series", rs.labels.Get("s"))
	}
	r.open = true
	r.b.WriteString(rs.labels.Get("s") + ":")
	return nil
}

func (r *recordingSink) Append(t int64, v float64) error {
	if !r.open {
		return fmt.Errorf("Append(%d) outside a series", t)
	}
	fmt.Fprintf(&r.b, "%d=%g,", t, v)
	return nil
}

func (r *recordingSink) AppendHistogram(int64, *prompb.Histogram) error {
	return fmt.Errorf("unexpected histogram")
}

func (r *recordingSink) EndSeries() error {
	if !r.open {
		return fmt.Errorf("EndSeries outside a series")
	}
	r.open = false
	r.b.WriteString(";")
	return nil
}

// chunk is one piece of InfluxDB's answer for series i of a run.
type chunk struct {
	i        int
	times    []int64
	complete bool
}

func TestRunOrder(t *testing.T) {
	run := make([]*readSeries, 4)
	for i := range run {
		run[i] = &readSeries{labels: labels.FromStrings("s", fmt.Sprint("s", i))}
	}
	ts := func(ts ...int64) []int64 { return ts }
	for _, tc := range []struct {
		name       string
		maxWaiting int
		chunks     []chunk
		alone      map[int][]int64 // samples of the series read again on their own
		want       string
		wantAlone  []int
	}{
		{
			name:   "in order",
			chunks: []chunk{{0, ts(1), true}, {1, ts(1, 2), false}, {1, ts(3), true}, {2, ts(4), true}, {3, ts(5), true}},
			want:   "s0:1=1,;s1:1=1,2=2,3=3,;s2:4=4,;s3:5=5,;",
		},
		{
			name:   "reversed",
			chunks: []chunk{{3, ts(5), true}, {2, ts(4), false}, {2, ts(6), true}, {1, ts(1), true}, {0, ts(2), true}},
			want:   "s0:2=2,;s1:1=1,;s2:4=4,6=6,;s3:5=5,;",
		},
		{
			name:   "series without samples are skipped",
			chunks: []chunk{{1, ts(1), true}, {3, ts(2), true}},
			want:   "s1:1=1,;s3:2=2,;",
		},
		{
			name:   "answer ends inside a series",
			chunks: []chunk{{0, ts(1), false}},
			want:   "s0:1=1,;",
		},
		{
			name:   "repeated chunks of an answered series are ignored",
			chunks: []chunk{{0, ts(1), true}, {0, ts(9), true}, {1, ts(2), true}},
			want:   "s0:1=1,;s1:2=2,;",
		},
		{
			name:       "a series over the wait bound is read again in its turn",
			maxWaiting: 3,
			chunks:     []chunk{{3, ts(1, 2), true}, {2, ts(3, 4), true}, {1, ts(5), true}, {0, ts(6), true}},
			alone:      map[int][]int64{2: {3, 4}},
			want:       "s0:6=6,;s1:5=5,;s2:3=3,4=4,;s3:1=1,2=2,;",
			wantAlone:  []int{2},
		},
		{
			name:       "a series dropped halfway frees its samples",
			maxWaiting: 2,
			chunks:     []chunk{{2, ts(1), false}, {2, ts(2, 3), true}, {3, ts(4, 5), true}, {0, ts(6), true}, {1, ts(7), true}},
			alone:      map[int][]int64{2: {1, 2, 3}},
			want:       "s0:6=6,;s1:7=7,;s2:1=1,2=2,3=3,;s3:4=4,5=5,;",
			wantAlone:  []int{2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &recordingSink{}
			maxWaiting := tc.maxWaiting
			if maxWaiting == 0 {
				maxWaiting = maxWaitingSamples
			}
			o := newRunOrder(sink, run, maxWaiting)
			for _, c := range tc.chunks {
				values := make([]float64, len(c.times))
				for j, t := range c.times {
					values[j] = float64(t)
				}
				if err := o.add(c.i, c.times, values, c.complete); err != nil {
					t.Fatal(err)
				}
				if o.waitingSamples > maxWaiting {
					t.Fatalf("%d samples waiting, bound %d", o.waitingSamples, maxWaiting)
				}
			}
			var alone []int
			err := o.finish(func(rs *readSeries) error {
				i := slices.Index(run, rs)
				alone = append(alone, i)
				if err := sink.StartSeries(rs); err != nil {
					return err
				}
				for _, t := range tc.alone[i] {
					if err := sink.Append(t, float64(t)); err != nil {
						return err
					}
				}
				return sink.EndSeries()
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := sink.b.String(); got != tc.want {
				t.Errorf("sink got\n%s\nwant\n%s", got, tc.want)
			}
			if !slices.Equal(alone, tc.wantAlone) {
				t.Errorf("read again: %v, want %v", alone, tc.wantAlone)
			}
			if len(o.waiting) != 0 || o.waitingSamples != 0 {
				t.Errorf("after finish: %d series, %d samples waiting", len(o.waiting), o.waitingSamples)
			}
		})
	}
}

// TestReadSlots: past read.max_concurrency a read waits for a turn, and is
// answered 503 when its time runs out first.
func TestReadSlots(t *testing.T) {
	srv, _ := startAdapter(t, "databases:\n  - {name: a, url: \"http://127.0.0.1:1\", database: p}\nread: {max_concurrency: 1}\n")
	st := srv.state.Load()
	if err := srv.takeReadSlot(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := srv.takeReadSlot(ctx, st)
	var he *httpError
	if !errors.As(err, &he) || he.status != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "read.max_concurrency") {
		t.Fatalf("second read while the first is answered: %v, want 503 naming read.max_concurrency", err)
	}
	got := make(chan error)
	go func() { got <- srv.takeReadSlot(context.Background(), st) }()
	<-st.readSlots // the first read ends
	if err := <-got; err != nil {
		t.Fatalf("waiting read after the first ended: %v", err)
	}
}

func TestFirstGroupSize(t *testing.T) {
	for _, tc := range []struct {
		start, end int64
		want       int
	}{
		{0, 0, maxPromReadSeries},                  // one sample per series at most
		{0, 3600_000, int(promReadSamples / 3601)}, // an hour: 72
		{0, 30 * 24 * 3600_000, 1},                 // a month
		{math.MinInt64, math.MaxInt64, 1},          // overflow
		{1000, 999, maxPromReadSeries},             // an empty range
	} {
		sel, err := mapping.NewSelection(&prompb.Query{StartTimestampMs: tc.start, EndTimestampMs: tc.end, Matchers: []*prompb.LabelMatcher{{Name: "__name__", Value: "up"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := firstGroupSize(sel); got != tc.want {
			t.Errorf("firstGroupSize(%d..%d) = %d, want %d", tc.start, tc.end, got, tc.want)
		}
	}
}

// TestGroupEnd: a group ends where a block of series that share their
// first labels begins, so that the cross product of its label values
// holds no series of the next group.
func TestGroupEnd(t *testing.T) {
	var run []*readSeries
	for _, cpu := range []string{"0", "1", "2"} {
		for _, host := range []string{"a", "b", "c", "d"} {
			run = append(run, &readSeries{labels: labels.FromStrings("__name__", "cpu", "cpu", cpu, "host", host)})
		}
	}
	for _, tc := range []struct{ start, end, want int }{
		{0, 4, 4},   // cpu 0: the next group starts cpu 1
		{0, 6, 4},   // cpu 0 and half of cpu 1: cpu 1 is the next group's
		{0, 12, 12}, // all
		{2, 5, 4},   // the end of cpu 0, one of cpu 1: cpu 1 goes on
		{4, 6, 6},   // within cpu 1: blocks are hosts
		{4, 5, 5},   // one series
		{6, 11, 8},  // the end of cpu 1, most of cpu 2
	} {
		if got := groupEnd(run, tc.start, tc.end); got != tc.want {
			t.Errorf("groupEnd(%d, %d) = %d, want %d", tc.start, tc.end, got, tc.want)
		}
	}
}
