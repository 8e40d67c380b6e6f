package promapi

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/prometheus/prometheus/model/metadata"
)

// Metadata serves /api/v1/metadata, GET or POST with a form body: the
// metadata (type, help, unit) of every metric family, or of the family
// the metric parameter names; limit caps the families, limit_per_metric
// the metadata of each (a negative limit is none, as in Prometheus).
// Families come in the order of their names, which Prometheus's answer
// (a JSON object) has too.
func (a *API) Metadata(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	limit, limitPerMetric := -1, -1
	if s := r.FormValue("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil {
			a.respondError(w, &apiError{errorBadData, errors.New("limit must be a number")})
			return
		}
	}
	if s := r.FormValue("limit_per_metric"); s != "" {
		var err error
		if limitPerMetric, err = strconv.Atoi(s); err != nil {
			a.respondError(w, &apiError{errorBadData, errors.New("limit_per_metric must be a number")})
			return
		}
	}
	ctx, cancel := a.context(r)
	defer cancel()
	families, err := a.storage.Metadata(ctx, r.FormValue("metric"))
	if err != nil {
		a.respondError(w, execError(ctx, err))
		return
	}
	names := make([]string, 0, len(families))
	for name, ms := range families {
		if len(ms) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if limit >= 0 && len(names) > limit {
		names = names[:limit]
	}
	for _, name := range names {
		ms := slices.Clone(families[name])
		slices.SortFunc(ms, compareMetadata)
		ms = slices.Compact(ms)
		if limitPerMetric > 0 && len(ms) > limitPerMetric {
			ms = ms[:limitPerMetric]
		}
		families[name] = ms
	}
	a.respond(w, r, appendMetadata(a.dataPrefix(), names, families), nil)
}

func compareMetadata(x, y metadata.Metadata) int {
	return cmp.Or(cmp.Compare(x.Type, y.Type), cmp.Compare(x.Unit, y.Unit), cmp.Compare(x.Help, y.Help))
}
