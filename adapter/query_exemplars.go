package adapter

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
)

// ExemplarQuerier implements storage.ExemplarQueryable: the exemplars
// stored with the series, read within ctx.
func (q *queryable) ExemplarQuerier(ctx context.Context) (storage.ExemplarQuerier, error) {
	return &exemplarQuerier{queryable: q, ctx: ctx}, nil
}

type exemplarQuerier struct {
	*queryable
	ctx context.Context
}

// Select answers the exemplars between start and end of the series that
// any of the selectors matches, by series in label order, each series'
// exemplars in time order (one per timestamp), from every database each
// selector can reach, as a remote read would, within a turn among
// read.max_concurrency. It fails with the engine's ErrTooManySamples past
// maxSamples exemplars, and otherwise as a Select of the query API.
func (e *exemplarQuerier) Select(start, end int64, selectors ...[]*labels.Matcher) ([]exemplar.QueryResult, error) {
	ctx := e.ctx
	if err := e.s.takeReadSlot(ctx, e.st); err != nil {
		return nil, selectError(err)
	}
	defer func() { <-e.st.readSlots }()
	bySeries := map[string]*exemplar.QueryResult{}
	var n int64
	var sb labels.ScratchBuilder
	for _, ms := range selectors {
		sel, err := mapping.NewSelection(readQuery(start, end, ms))
		if err != nil {
			return nil, selectError(badRequest(err.Error()))
		}
		pools, err := e.st.readPools(e.st.router.ReadDatabases(sel.Matchers()))
		if err != nil {
			return nil, selectError(err)
		}
		for _, rp := range pools {
			err := rp.pool.QueryStream(ctx, sel.ExemplarQuery(rp.rp), func(c *influxworker.SeriesChunk) error {
				if mapping.Bookkeeping(c.Name) || len(c.Times) == 0 {
					return nil
				}
				lbls, err := mapping.SeriesLabels(&sb, c.Name, c.Tags)
				if err != nil {
					return fmt.Errorf("%w: database %q: measurement %q: %w", errStoredValue, rp.name, c.Name, err)
				}
				if !sel.Matches(lbls) {
					return nil
				}
				key := string(lbls.Bytes(nil))
				r := bySeries[key]
				if r == nil {
					r = &exemplar.QueryResult{SeriesLabels: lbls}
					bySeries[key] = r
				}
				for i, t := range c.Times {
					if n++; n > e.maxSamples {
						return promql.ErrTooManySamples("exemplar query")
					}
					value, _ := c.Cell(0, i)
					special, _ := c.Cell(1, i)
					_, text := c.Cell(2, i)
					v, elbls, err := mapping.ReadExemplar(value, special, text)
					if err != nil {
						return fmt.Errorf("%w: database %q: measurement %q at %d: %w", errStoredValue, rp.name, c.Name, t, err)
					}
					r.Exemplars = append(r.Exemplars, exemplar.Exemplar{Labels: elbls, Value: v, Ts: t, HasTs: true})
				}
				return nil
			})
			if err != nil {
				return nil, selectError(err)
			}
		}
	}
	results := make([]exemplar.QueryResult, 0, len(bySeries))
	for _, r := range bySeries {
		// Stable: of one timestamp in several databases or selectors,
		// the first read is kept.
		slices.SortStableFunc(r.Exemplars, func(a, b exemplar.Exemplar) int { return cmp.Compare(a.Ts, b.Ts) })
		r.Exemplars = slices.CompactFunc(r.Exemplars, func(a, b exemplar.Exemplar) bool { return a.Ts == b.Ts })
		results = append(results, *r)
	}
	slices.SortFunc(results, func(a, b exemplar.QueryResult) int { return labels.Compare(a.SeriesLabels, b.SeriesLabels) })
	return results, nil
}

// Metadata implements promapi.MetadataQuerier: the latest metadata promflux
// stored of every metric family, in every database that can be read, or
// of metric alone, in the databases a series of that name alone may be
// routed to (where promflux writes its metadata). A family stored
// differently in several databases has each.
func (q *queryable) Metadata(ctx context.Context, metric string) (map[string][]metadata.Metadata, error) {
	if err := q.s.takeReadSlot(ctx, q.st); err != nil {
		return nil, selectError(err)
	}
	defer func() { <-q.st.readSlots }()
	dbs := q.st.names()
	if metric != "" {
		dbs = q.st.router.ReadDatabases([]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", metric)})
	}
	pools, err := q.st.readPools(dbs)
	if err != nil {
		return nil, selectError(err)
	}
	families := map[string][]metadata.Metadata{}
	for _, rp := range pools {
		err := rp.pool.QueryStream(ctx, mapping.MetadataQuery(rp.rp, metric), func(c *influxworker.SeriesChunk) error {
			for i := range c.Times {
				_, typ := c.Cell(0, i)
				_, help := c.Cell(1, i)
				_, unit := c.Cell(2, i)
				name, md, err := mapping.ReadMetadata(c.Tags[mapping.MetadataTag], typ, help, unit)
				if err != nil {
					return fmt.Errorf("%w: database %q: %w", errStoredValue, rp.name, err)
				}
				if name != "" && (metric == "" || name == metric) && !slices.Contains(families[name], md) {
					families[name] = append(families[name], md)
				}
			}
			return nil
		})
		if err != nil {
			return nil, selectError(err)
		}
	}
	return families, nil
}
