package promapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// Prometheus's limits on the annotations of one answer.
const (
	maxWarnings = 10
	maxInfos    = 10
)

// Storage is what the API answers from: the series and their samples
// (queries, series, label names and values), the exemplars and the
// metadata of metric families.
type Storage interface {
	storage.Queryable
	storage.ExemplarQueryable
	MetadataQuerier
}

// MetadataQuerier is where the metadata of metric families comes from.
type MetadataQuerier interface {
	// Metadata returns the metadata of every metric family, or of the
	// family metric alone when it is not "": the different metadata each
	// family has (the same family may be described differently by
	// different sources). An error is answered as a failed Select's.
	Metadata(ctx context.Context, metric string) (map[string][]metadata.Metadata, error)
}

// API answers the query endpoints with an Engine over a Storage.
type API struct {
	engine  *Engine
	storage Storage
	parser  parser.Parser
	logger  log.Logger
	now     func() time.Time
}

// NewAPI returns the API of engine over st.
func NewAPI(engine *Engine, st Storage, logger log.Logger) *API {
	return &API{
		engine:  engine,
		storage: st,
		parser:  parser.NewParser(parser.Options{}),
		logger:  log.With(logger, "component", "promapi"),
		now:     time.Now,
	}
}

// Query serves /api/v1/query, GET or POST with a form body: an instant
// query at time (default: now).
func (a *API) Query(w http.ResponseWriter, r *http.Request) {
	a.serve(w, r, false)
}

// QueryRange serves /api/v1/query_range, GET or POST with a form body: a
// range query from start to end, every step.
func (a *API) QueryRange(w http.ResponseWriter, r *http.Request) {
	a.serve(w, r, true)
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, isRange bool) {
	// The parameters come from the URL and, in a POST, from a form body
	// of at most 10 MB (net/http's bound).
	if err := r.ParseForm(); err != nil {
		a.respondError(w, &apiError{errorBadData, fmt.Errorf("error parsing form values: %w", err)})
		return
	}
	var q query
	var apiErr *apiError
	if isRange {
		q, apiErr = parseRangeQuery(r)
	} else {
		q, apiErr = parseInstantQuery(r, a.now())
	}
	if apiErr != nil {
		a.respondError(w, apiErr)
		return
	}
	// query.timeout bounds the whole of it, the waits for a turn (which
	// Prometheus leaves to the client's timeout parameter) included.
	timeout := time.Duration(a.engine.cfg.Timeout)
	if q.timeout > 0 && q.timeout < timeout {
		timeout = q.timeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	var qry promql.Query
	var err error
	if isRange {
		qry, err = a.engine.engine.NewRangeQuery(ctx, a.storage, q.opts, q.expr, q.start, q.end, q.step)
	} else {
		qry, err = a.engine.engine.NewInstantQuery(ctx, a.storage, q.opts, q.expr, q.start)
	}
	if err != nil {
		a.respondError(w, constructionError(ctx, err))
		return
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		a.respondError(w, execError(ctx, res.Err))
		return
	}
	annotations := res.Warnings
	if q.limit > 0 {
		truncated := false
		switch v := res.Value.(type) {
		case promql.Matrix:
			if truncated = len(v) > q.limit; truncated {
				res.Value = v[:q.limit]
			}
		case promql.Vector:
			if truncated = len(v) > q.limit; truncated {
				res.Value = v[:q.limit]
			}
		}
		if truncated {
			annotations = annotations.Add(errors.New("results truncated due to limit"))
		}
	}
	warnings, infos := annotations.AsStrings(q.expr, maxWarnings, maxInfos)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if err := writeSuccess(w, res.Value, warnings, infos); err != nil {
		level.Debug(a.logger).Log("msg", "cannot write the answer of a query", "err", err)
	}
}

// respondError answers an error, with its status.
func (a *API) respondError(w http.ResponseWriter, e *apiError) {
	status := e.status()
	if status >= 500 {
		level.Debug(a.logger).Log("msg", "query failed", "status", status, "err", e)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(appendError(nil, e))
}
