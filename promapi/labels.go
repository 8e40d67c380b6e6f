package promapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// errTruncated is the warning of an answer cut at its limit parameter.
var errTruncated = errors.New("results truncated due to limit")

// Labels serves /api/v1/labels, GET or POST with a form body: the label
// names of the series that match any of the match[] selectors, or of every
// series without them, between start and end; limit caps the answer.
func (a *API) Labels(w http.ResponseWriter, r *http.Request) {
	a.serveLabels(w, r, "")
}

// LabelValues serves /api/v1/label/{name}/values, GET or POST with a form
// body: the values of the label name (the path value "name", which may
// use Prometheus's U__ escaping), with the parameters of Labels.
func (a *API) LabelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.HasPrefix(name, "U__") {
		name = model.UnescapeName(name, model.ValueEncodingEscaping)
	}
	if !model.UTF8Validation.IsValidLabelName(name) {
		a.respondError(w, &apiError{errorBadData, fmt.Errorf("invalid label name: %q", name)})
		return
	}
	a.serveLabels(w, r, name)
}

// serveLabels answers the label names, or the values of label name when
// it is not "", as Prometheus does: parameters checked in its order, the
// answers of several selectors merged, sorted, and cut at limit with a
// warning.
func (a *API) serveLabels(w http.ResponseWriter, r *http.Request, name string) {
	if !a.parseForm(w, r) {
		return
	}
	l, ok := a.parseLookup(w, r, func(err error) *apiError { return &apiError{errorBadData, err} })
	if !ok {
		return
	}
	limit, matcherSets := l.limit, l.matcherSets
	ctx, cancel := a.context(r)
	defer cancel()
	q, err := a.storage.Querier(timestamp.FromTime(l.start), timestamp.FromTime(l.end))
	if err != nil {
		a.respondError(w, execError(ctx, err))
		return
	}
	defer q.Close()
	hints := &storage.LabelHints{Limit: hintLimit(limit)}
	call := func(ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		if name == "" {
			return q.LabelNames(ctx, hints, ms...)
		}
		return q.LabelValues(ctx, name, hints, ms...)
	}
	var (
		result   []string
		warnings annotations.Annotations
	)
	if len(matcherSets) <= 1 {
		var ms []*labels.Matcher
		if len(matcherSets) == 1 {
			ms = matcherSets[0]
		}
		if result, warnings, err = call(ms); err != nil {
			a.respondError(w, execError(ctx, err))
			return
		}
	} else {
		set := map[string]struct{}{}
		for _, ms := range matcherSets {
			vals, ws, err := call(ms)
			if err != nil {
				a.respondError(w, execError(ctx, err))
				return
			}
			warnings.Merge(ws)
			for _, v := range vals {
				set[v] = struct{}{}
			}
		}
		result = make([]string, 0, len(set))
		for v := range set {
			result = append(result, v)
		}
	}
	slices.Sort(result)
	if limit > 0 && len(result) > limit {
		result = result[:limit]
		warnings = warnings.Add(errTruncated)
	}
	a.respond(w, r, appendArray(a.dataPrefix(), result, appendString), warnings)
}

// Series serves /api/v1/series, GET or POST with a form body: the labels
// of the series that match any of the match[] selectors (one at least)
// between start and end, without their samples; limit caps the answer.
func (a *API) Series(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	if len(r.Form["match[]"]) == 0 {
		a.respondError(w, &apiError{errorBadData, errors.New("no match[] parameter provided")})
		return
	}
	l, ok := a.parseLookup(w, r, func(err error) *apiError { return invalidParam(err, "match[]") })
	if !ok {
		return
	}
	limit, start, end, matcherSets := l.limit, l.start, l.end, l.matcherSets
	ctx, cancel := a.context(r)
	defer cancel()
	q, err := a.storage.Querier(timestamp.FromTime(start), timestamp.FromTime(end))
	if err != nil {
		a.respondError(w, execError(ctx, err))
		return
	}
	defer q.Close()
	// Func "series" asks for the series alone, as Prometheus's API does.
	hints := &storage.SelectHints{
		Start: timestamp.FromTime(start),
		End:   timestamp.FromTime(end),
		Func:  "series",
		Limit: hintLimit(limit),
	}
	var set storage.SeriesSet
	if len(matcherSets) > 1 {
		sets := make([]storage.SeriesSet, 0, len(matcherSets))
		for _, ms := range matcherSets {
			sets = append(sets, q.Select(ctx, true, hints, ms...))
		}
		set = storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	} else {
		set = q.Select(ctx, false, hints, matcherSets[0]...)
	}
	result := []labels.Labels{}
	var warnings annotations.Annotations
	for set.Next() {
		result = append(result, set.At().Labels())
		if limit > 0 && len(result) > limit {
			result = result[:limit]
			warnings = warnings.Add(errTruncated)
			break
		}
	}
	if err := set.Err(); err != nil {
		a.respondError(w, execError(ctx, err))
		return
	}
	warnings.Merge(set.Warnings())
	a.respond(w, r, appendArray(a.dataPrefix(), result, appendLabels), warnings)
}

// lookup is the parameters of the label and series lookups.
type lookup struct {
	limit       int
	start, end  time.Time
	matcherSets [][]*labels.Matcher
}

// parseLookup reads limit, start, end and match[] in Prometheus's order,
// answers the first that is wrong (match[] with the error badMatch makes
// of it) and returns false then.
func (a *API) parseLookup(w http.ResponseWriter, r *http.Request, badMatch func(error) *apiError) (lookup, bool) {
	var l lookup
	var err error
	if l.limit, err = parseLimit(r.FormValue("limit")); err != nil {
		a.respondError(w, invalidParam(err, "limit"))
		return l, false
	}
	var apiErr *apiError
	if l.start, l.end, apiErr = parseRange(r); apiErr != nil {
		a.respondError(w, apiErr)
		return l, false
	}
	if l.matcherSets, err = a.parseMatchers(r.Form["match[]"]); err != nil {
		a.respondError(w, badMatch(err))
		return l, false
	}
	return l, true
}

// parseForm reads the parameters of the URL and of a form body (at most
// 10 MB, net/http's bound), or answers the error.
func (a *API) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		a.respondError(w, &apiError{errorBadData, fmt.Errorf("error parsing form values: %w", err)})
		return false
	}
	return true
}

// parseRange reads the optional start and end parameters, which default
// to the earliest and the latest time there is.
func parseRange(r *http.Request) (start, end time.Time, apiErr *apiError) {
	var err error
	if start, err = timeParam(r, "start", minTime); err != nil {
		return start, end, invalidParam(err, "start")
	}
	if end, err = timeParam(r, "end", maxTime); err != nil {
		return start, end, invalidParam(err, "end")
	}
	return start, end, nil
}

// timeParam reads the optional time parameter name, def when absent.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	s := r.FormValue(name)
	if s == "" {
		return def, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time value for '%s': %w", name, err)
	}
	return t, nil
}

// parseMatchers reads match[] selectors as Prometheus does: each must
// parse and hold a matcher that does not match the empty string.
func (a *API) parseMatchers(selectors []string) ([][]*labels.Matcher, error) {
	sets, err := a.parser.ParseMetricSelectors(selectors)
	if err != nil {
		return nil, err
	}
	for _, ms := range sets {
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return m != nil && !m.Matches("") }) {
			return nil, errors.New("match[] must contain at least one non-empty matcher")
		}
	}
	return sets, nil
}

// hintLimit is the limit a storage is asked for: one more than the
// answer's, so that a cut answer can be told from a complete one.
func hintLimit(limit int) int {
	if limit > 0 {
		return limit + 1
	}
	return 0
}

// context bounds the work of a request other than a PromQL query by
// query.timeout.
func (a *API) context(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), time.Duration(a.engine.cfg.Timeout))
}

// dataPrefix starts a success answer, which data follows.
func (a *API) dataPrefix() []byte {
	return append(make([]byte, 0, 4096), `{"status":"success","data":`...)
}

// respond completes and writes a success answer, b holding its start
// (dataPrefix) and its data, with the warnings and infos of annotations
// in the form and number of Prometheus's (the query parameter being the
// one they may quote).
func (a *API) respond(w http.ResponseWriter, r *http.Request, b []byte, annos annotations.Annotations) {
	warnings, infos := annos.AsStrings(r.FormValue("query"), maxWarnings, maxInfos)
	b = appendStrings(b, "warnings", warnings)
	b = appendStrings(b, "infos", infos)
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(b); err != nil {
		level.Debug(a.logger).Log("msg", "cannot write an answer", "path", r.URL.Path, "err", err)
	}
}
