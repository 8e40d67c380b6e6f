package promapi

import (
	"errors"
	"net/http"

	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql/parser"
)

// QueryExemplars serves /api/v1/query_exemplars, GET or POST with a form
// body: the exemplars, between start and end, of the series that the
// selectors of the PromQL query select, by series. A query without a
// selector is answered 204 without a body, as Prometheus answers it.
func (a *API) QueryExemplars(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	start, end, apiErr := parseRange(r)
	if apiErr != nil {
		a.respondError(w, apiErr)
		return
	}
	if end.Before(start) {
		a.respondError(w, &apiError{errorBadData, errors.New("end timestamp must not be before start timestamp")})
		return
	}
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		a.respondError(w, &apiError{errorBadData, err})
		return
	}
	selectors := parser.ExtractSelectors(expr)
	if len(selectors) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx, cancel := a.context(r)
	defer cancel()
	eq, err := a.storage.ExemplarQuerier(ctx)
	if err != nil {
		a.respondError(w, execError(ctx, err))
		return
	}
	results, err := eq.Select(timestamp.FromTime(start), timestamp.FromTime(end), selectors...)
	if err != nil {
		a.respondError(w, execError(ctx, err))
		return
	}
	a.respond(w, r, appendExemplars(a.dataPrefix(), results), nil)
}
