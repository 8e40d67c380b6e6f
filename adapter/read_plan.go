package adapter

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
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
	// key is the stored tags as tagsKey gives them (tagsOf reads them
	// back): one string per series, where a map would cost several times
	// as much in reads of 100k series.
	key string
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
	labels  labels.Labels
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

// plan finds every series matching q in the databases that can hold it, or
// in queryDB alone when ?db= named one, merges the same series from several
// databases and sorts the series as Prometheus does.
func (s *Server) plan(ctx context.Context, st *state, q *prompb.Query, queryDB string) (*readPlan, error) {
	sel, err := mapping.NewSelection(q)
	if err != nil {
		return nil, badRequest(err.Error())
	}
	dbs := []string{queryDB}
	if queryDB == "" {
		dbs = st.router.ReadDatabases(sel.Matchers())
	}
	p := &readPlan{sel: sel}
	var writeOnly []string
	for _, db := range dbs {
		pool, rp := st.pools[db], st.rp[db]
		if pool.WriteOnly() {
			// Fire-and-forget UDP has no query API: what it wrote is read
			// through an http entry for the same InfluxDB database.
			writeOnly = append(writeOnly, db)
			continue
		}
		var sb labels.ScratchBuilder
		found := func(src readSource, tags map[string]string) error {
			if mapping.Bookkeeping(src.measurement) {
				return nil // promflux's metadata, no series of a metric
			}
			lbls, err := mapping.SeriesLabels(&sb, src.measurement, tags)
			if err != nil {
				return fmt.Errorf("%w: database %q: measurement %q: %w", errStoredValue, db, src.measurement, err)
			}
			if sel.Matches(lbls) {
				src.key = tagsKey(tags)
				p.series = append(p.series, &readSeries{labels: lbls, sources: []readSource{src}})
			}
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
	// Stable: the sources of a series stay in the order of dbs.
	slices.SortStableFunc(p.series, func(a, b *readSeries) int { return labels.Compare(a.labels, b.labels) })
	p.series = mergeSources(p.series)
	return p, nil
}

// mergeSources makes one series of the sorted series with the same labels:
// one stored in several databases, or stored twice in one (in the
// reversible form by promflux and plainly by another writer).
func mergeSources(series []*readSeries) []*readSeries {
	out := series[:0]
	for _, rs := range series {
		if n := len(out); n > 0 && labels.Equal(out[n-1].labels, rs.labels) {
			out[n-1].sources = append(out[n-1].sources, rs.sources...)
			continue
		}
		out = append(out, rs)
	}
	clear(series[len(out):])
	return out
}

// discover passes found every series with a sample in the time range that
// the discovery statement q lists.
func discover(ctx context.Context, q string, pool *influxworker.Pool, rp string, found func(readSource, map[string]string) error) error {
	firsts := make([]float64, mapping.DiscoveryColumns)
	return pool.QueryStream(ctx, q, func(c *influxworker.SeriesChunk) error {
		if len(c.Times) == 0 {
			return nil
		}
		for i := range firsts {
			firsts[i], _ = c.Cell(i, 0)
		}
		d := mapping.ReadDiscovery(firsts)
		return found(readSource{pool: pool, rp: rp, measurement: c.Name, histograms: d.Histograms}, c.Tags)
	})
}

// discoverIndexed finds the series of a database read through
// /api/v1/prom/read: from InfluxDB's index in measurements of floats and
// special values (mapping.FieldsReadable), with discover in the others.
// SHOW FIELD KEYS and SHOW SERIES are asked at the same time.
func discoverIndexed(ctx context.Context, sel *mapping.Selection, pool *influxworker.Pool, rp string, found func(readSource, map[string]string) error) error {
	var keys []string
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seriesErr := make(chan error, 1)
	go func() {
		seriesErr <- pool.QueryStream(ctx, sel.SeriesQuery(rp), func(c *influxworker.SeriesChunk) error {
			// Split later, one at a time: a map per series held for all
			// of them would cost several times the keys.
			keys = append(keys, c.Keys...)
			return nil
		})
	}()
	resp, err := pool.Query(ctx, sel.FieldKeysQuery(rp))
	if err != nil {
		cancel() // SHOW SERIES is of no use any more
	}
	if serr := <-seriesErr; err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	specials := map[string]bool{} // of the measurements read from the index
	var others []string
	for _, res := range resp.Results {
		for _, series := range res.Series {
			fields, types := make([]string, len(series.Values)), make([]string, len(series.Values))
			for i, row := range series.Values {
				if len(row) == 2 {
					fields[i], _ = row[0].(string)
					types[i], _ = row[1].(string)
				}
			}
			if ok, sp := mapping.FieldsReadable(fields, types); ok {
				specials[series.Name] = sp
			} else {
				others = append(others, series.Name)
			}
		}
	}
	for i, key := range keys {
		keys[i] = ""
		m, tags, err := mapping.ParseSeriesKey(key)
		if err != nil {
			return fmt.Errorf("%w: series key %q: %w", errStoredValue, key, err)
		}
		sp, ok := specials[m]
		if !ok {
			continue // read with discover, or new since SHOW FIELD KEYS
		}
		if err := found(readSource{pool: pool, rp: rp, measurement: m, promRead: true, specials: sp}, tags); err != nil {
			return err
		}
	}
	if len(others) == 0 {
		return nil
	}
	return discover(ctx, sel.DiscoveryQueryOf(rp, others), pool, rp, found)
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

// tagsOf reads back the tags of a tagsKey. InfluxDB's answers are JSON,
// whose strings are valid UTF-8, so \xff separates them unambiguously.
func tagsOf(key string) map[string]string {
	tags := map[string]string{}
	for key != "" {
		k, rest, _ := strings.Cut(key, "\xff")
		v, rest, _ := strings.Cut(rest, "\xff")
		tags[k] = v
		key = rest
	}
	return tags
}
