package adapter

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
)

// readSource is where one series is stored: a database and the stored form
// of its measurement and tags, as InfluxDB reported them.
type readSource struct {
	pool        *influxworker.Pool
	rp          string
	measurement string
	tags        map[string]string
	// histograms: native histogram samples in the time range.
	histograms bool
	// promRead: found in InfluxDB's index (it may have no sample in the
	// time range) in a measurement of floats and special values, whose
	// floats are read through InfluxDB's own /api/v1/prom/read; specials:
	// the measurement has special values, read through /query.
	promRead, specials bool
}

// readSeries is one series matching a query, with every place it is stored.
type readSeries struct {
	labels  []prompb.Label
	sources []readSource
}

// alone reports whether the series is read on its own, merged in memory:
// it is stored in several databases, or it has native histograms, which
// come from a query of their own.
func (rs *readSeries) alone() bool {
	return len(rs.sources) > 1 || rs.sources[0].histograms
}

// readPlan is one query of a read request, resolved to the series it returns
// in Prometheus order, before any sample is read.
type readPlan struct {
	sel    *mapping.Selection
	series []*readSeries
}

// plan finds every series matching q in the databases that can hold it,
// merges the same series from several databases and sorts the series as
// Prometheus does.
func (s *Server) plan(ctx context.Context, st *state, q *prompb.Query, only string) (*readPlan, error) {
	sel, err := mapping.NewSelection(q)
	if err != nil {
		return nil, badRequest(err.Error())
	}
	dbs := []string{only}
	if only == "" {
		dbs = st.router.ReadDatabases(sel.Matchers())
	}
	p := &readPlan{sel: sel}
	byLabels := map[string]*readSeries{}
	var writeOnly []string
	for _, db := range dbs {
		pool, rp := st.pools[db], st.rp[db]
		if pool.WriteOnly() {
			// Fire-and-forget UDP has no query API: what it wrote is read
			// through an http entry for the same InfluxDB database.
			writeOnly = append(writeOnly, db)
			continue
		}
		found := func(src readSource) error {
			lbls, err := mapping.SeriesLabels(src.measurement, src.tags)
			if err != nil {
				return fmt.Errorf("%w: database %q: measurement %q: %w", errStoredValue, db, src.measurement, err)
			}
			if !sel.Matches(lbls) {
				return nil
			}
			key := labelsKey(lbls)
			rs := byLabels[key]
			if rs == nil {
				rs = &readSeries{labels: lbls}
				byLabels[key] = rs
				p.series = append(p.series, rs)
			}
			rs.sources = append(rs.sources, src)
			return nil
		}
		if pool.PromReadable() {
			err = discoverIndexed(ctx, sel, pool, rp, found)
		} else {
			err = discover(ctx, sel.DiscoveryQuery(rp), pool, rp, found)
		}
		if err != nil {
			return nil, readError(err)
		}
	}
	if len(writeOnly) == len(dbs) {
		// An empty answer would read as "no such data".
		return nil, badRequest(fmt.Sprintf("the selector's series are stored only in write-only databases (transport: udp), which cannot be read: %s", strings.Join(writeOnly, ", ")))
	}
	slices.SortFunc(p.series, func(a, b *readSeries) int { return mapping.CompareLabels(a.labels, b.labels) })
	return p, nil
}

// discover passes found every series with a sample in the time range that
// the discovery statement q lists.
func discover(ctx context.Context, q string, pool *influxworker.Pool, rp string, found func(readSource) error) error {
	firsts := make([]float64, 3)
	return pool.QueryStream(ctx, q, func(c *influxworker.SeriesChunk) error {
		if len(c.Times) == 0 {
			return nil
		}
		for i := range firsts {
			firsts[i], _ = cell(c, i, 0)
		}
		d := mapping.ReadDiscovery(firsts)
		return found(readSource{pool: pool, rp: rp, measurement: c.Name, tags: presentTags(c.Tags), histograms: d.Histograms})
	})
}

// discoverIndexed finds the series of a database read through
// /api/v1/prom/read: from InfluxDB's index in measurements of floats and
// special values (mapping.FieldsReadable), with discover in the others.
func discoverIndexed(ctx context.Context, sel *mapping.Selection, pool *influxworker.Pool, rp string, found func(readSource) error) error {
	resp, err := pool.Query(ctx, sel.FieldKeysQuery(rp))
	if err != nil {
		return err
	}
	indexed := map[string]bool{} // measurement: has special values
	var others []string
	for _, res := range resp.Results {
		for _, series := range res.Series {
			keys, types := make([]string, len(series.Values)), make([]string, len(series.Values))
			for i, row := range series.Values {
				if len(row) == 2 {
					keys[i], _ = row[0].(string)
					types[i], _ = row[1].(string)
				}
			}
			if ok, specials := mapping.FieldsReadable(keys, types); ok {
				indexed[series.Name] = specials
			} else {
				others = append(others, series.Name)
			}
		}
	}
	if len(others) > 0 {
		if err := discover(ctx, sel.DiscoveryQueryOf(rp, others), pool, rp, found); err != nil {
			return err
		}
	}
	if len(indexed) == 0 {
		return nil
	}
	return pool.QueryStream(ctx, sel.SeriesQuery(rp), func(c *influxworker.SeriesChunk) error {
		for _, key := range c.Keys {
			m, tags, err := mapping.ParseSeriesKey(key)
			if err != nil {
				return fmt.Errorf("%w: series key %q: %w", errStoredValue, key, err)
			}
			specials, ok := indexed[m]
			if !ok {
				continue // not indexed, or new since SHOW FIELD KEYS
			}
			if err := found(readSource{pool: pool, rp: rp, measurement: m, tags: tags, promRead: true, specials: specials}); err != nil {
				return err
			}
		}
		return nil
	})
}

// presentTags copies the tags a series has. With GROUP BY * InfluxDB lists
// every tag key of every measurement read, "" for the keys the series
// lacks; a series is named by the others.
func presentTags(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// labelsKey identifies a label set; \xff cannot occur in valid UTF-8.
func labelsKey(lbls []prompb.Label) string {
	var b strings.Builder
	for _, l := range lbls {
		b.WriteString(l.Name)
		b.WriteByte(0xff)
		b.WriteString(l.Value)
		b.WriteByte(0xff)
	}
	return b.String()
}

// tagsKey identifies a stored tag set as InfluxDB reports it (empty values
// are absent tags).
func tagsKey(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k, v := range tags {
		if v != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0xff)
		b.WriteString(tags[k])
		b.WriteByte(0xff)
	}
	return b.String()
}
