package adapter

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
)

// LabelNames answers the label names of the series ms match in the
// querier's time range, found as a remote read finds them (plan), or
// without matchers the tag keys of InfluxDB's index of every database
// that can be read, of all time, and __name__ when a database holds a
// measurement. Sorted, each once; the limit of hints is left to the API.
func (q *querier) LabelNames(ctx context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	names, err := q.labels(ctx, ms, func(rs *readSeries, add func(string)) {
		rs.labels.Range(func(l labels.Label) { add(l.Name) })
	}, q.s.indexLabelNames)
	return names, nil, err
}

// LabelValues answers the values of label name, as LabelNames its names:
// without matchers, the tag values of InfluxDB's index (for __name__, its
// measurements).
func (q *querier) LabelValues(ctx context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	values, err := q.labels(ctx, ms, func(rs *readSeries, add func(string)) {
		if v := rs.labels.Get(name); v != "" {
			add(v)
		}
	}, func(ctx context.Context, pools []readPool, add func(string)) error {
		return q.s.indexLabelValues(ctx, pools, name, add)
	})
	return values, nil, err
}

// labels collects strings from the series ms match (of), or from the
// index without matchers, within a turn among read.max_concurrency, and
// returns them sorted, each once, or the error of the read.
func (q *querier) labels(ctx context.Context, ms []*labels.Matcher, of func(*readSeries, func(string)),
	index func(context.Context, []readPool, func(string)) error,
) ([]string, error) {
	if err := q.s.takeReadSlot(ctx, q.st); err != nil {
		return nil, selectError(err)
	}
	defer func() { <-q.st.readSlots }()
	set := map[string]struct{}{}
	add := func(s string) { set[s] = struct{}{} }
	if len(ms) == 0 {
		pools, err := q.st.readPools(q.st.names())
		if err == nil {
			err = index(ctx, pools, add)
		}
		if err != nil {
			return nil, selectError(err)
		}
	} else {
		p, err := q.s.plan(ctx, q.st, q.query(nil, ms), "")
		if err != nil {
			return nil, selectError(err)
		}
		for _, rs := range p.series {
			of(rs, add)
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out, nil
}

// query is the remote-read query of a selector: ms over the querier's
// time range, or the selector's own (hints) when given.
func (q *querier) query(hints *storage.SelectHints, ms []*labels.Matcher) *prompb.Query {
	if hints != nil {
		return readQuery(hints.Start, hints.End, ms)
	}
	return readQuery(q.mint, q.maxt, ms)
}

// readQuery is the remote-read query of ms from start to end.
func readQuery(start, end int64, ms []*labels.Matcher) *prompb.Query {
	pq := &prompb.Query{StartTimestampMs: start, EndTimestampMs: end}
	for _, m := range ms {
		pq.Matchers = append(pq.Matchers, &prompb.LabelMatcher{Type: matchType[m.Type], Name: m.Name, Value: m.Value})
	}
	return pq
}

// readPool is a database that can be read: its pool and retention policy.
type readPool struct {
	name string
	pool *influxworker.Pool
	rp   string
}

// readPools are the databases of dbs that can be read, in their order: a
// write-only one (transport: udp) is left out, and only write-only ones
// are refused, as the read path refuses them.
func (st *state) readPools(dbs []string) ([]readPool, error) {
	var pools []readPool
	var writeOnly []string
	for _, db := range dbs {
		if st.pools[db].WriteOnly() {
			writeOnly = append(writeOnly, db)
			continue
		}
		pools = append(pools, readPool{name: db, pool: st.pools[db], rp: st.rp[db]})
	}
	if len(pools) == 0 && len(writeOnly) > 0 {
		return nil, badRequest(fmt.Sprintf("the databases are write-only (transport: udp) and cannot be read: %s", strings.Join(writeOnly, ", ")))
	}
	return pools, nil
}

// indexLabelNames adds the label names of InfluxDB's index of every pool:
// the decoded tag keys of the measurements that are not Bookkeeping, and
// __name__ when there is such a measurement.
func (s *Server) indexLabelNames(ctx context.Context, pools []readPool, add func(string)) error {
	for _, rp := range pools {
		resp, err := rp.pool.Query(ctx, mapping.MeasurementsQuery+"; "+mapping.TagKeysQuery(rp.rp))
		if err != nil {
			return err
		}
		if len(resp.Results) != 2 {
			return fmt.Errorf("database %q answered %d results to 2 statements", rp.name, len(resp.Results))
		}
		for _, series := range resp.Results[0].Series {
			for _, row := range series.Values {
				if m := rowString(row, 0); m != "" && !mapping.Bookkeeping(m) {
					add("__name__")
					break
				}
			}
		}
		for _, series := range resp.Results[1].Series {
			if mapping.Bookkeeping(series.Name) {
				continue
			}
			for _, row := range series.Values {
				name, err := mapping.DecodeTagKey(rowString(row, 0))
				if err != nil {
					return fmt.Errorf("%w: database %q: measurement %q: %w", errStoredValue, rp.name, series.Name, err)
				}
				if name != "" {
					add(name)
				}
			}
		}
	}
	return nil
}

// indexLabelValues adds the values of label name in InfluxDB's index of
// every pool: the decoded measurements for __name__, the decoded values
// of the tags the label is stored under otherwise, Bookkeeping
// measurements left out.
func (s *Server) indexLabelValues(ctx context.Context, pools []readPool, name string, add func(string)) error {
	for _, rp := range pools {
		if name == "__name__" {
			resp, err := rp.pool.Query(ctx, mapping.MeasurementsQuery)
			if err != nil {
				return err
			}
			for _, res := range resp.Results {
				for _, series := range res.Series {
					for _, row := range series.Values {
						stored := rowString(row, 0)
						if stored == "" || mapping.Bookkeeping(stored) {
							continue
						}
						m, err := mapping.DecodeMeasurement(stored)
						if err != nil {
							return fmt.Errorf("%w: database %q: %w", errStoredValue, rp.name, err)
						}
						if m != "" {
							add(m)
						}
					}
				}
			}
			continue
		}
		resp, err := rp.pool.Query(ctx, mapping.TagValuesQuery(rp.rp, name))
		if err != nil {
			return err
		}
		for _, res := range resp.Results {
			for _, series := range res.Series {
				if mapping.Bookkeeping(series.Name) {
					continue
				}
				for _, row := range series.Values {
					if key, err := mapping.DecodeTagKey(rowString(row, 0)); err != nil || key != name {
						continue // another label's key that the regex of keys matched
					}
					v, err := mapping.DecodeTagValue(rowString(row, 1))
					if err != nil {
						return fmt.Errorf("%w: database %q: measurement %q: %w", errStoredValue, rp.name, series.Name, err)
					}
					if v != "" {
						add(v)
					}
				}
			}
		}
	}
	return nil
}

// rowString is cell i of an InfluxDB answer's row as a string, "" when it
// is not one.
func rowString(row []any, i int) string {
	if i >= len(row) {
		return ""
	}
	s, _ := row[i].(string)
	return s
}
