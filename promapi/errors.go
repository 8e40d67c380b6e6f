package promapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/prometheus/promql"
)

// errorType is the errorType of an error answer, as Prometheus names it.
type errorType string

// The error types the query endpoints answer with.
const (
	errorBadData     errorType = "bad_data"
	errorExec        errorType = "execution"
	errorCostLimit   errorType = "cost_limit"
	errorTimeout     errorType = "timeout"
	errorCanceled    errorType = "canceled"
	errorInternal    errorType = "internal"
	errorUnavailable errorType = "unavailable"
)

// statusClientClosedRequest is nginx's non-standard 499, which Prometheus
// answers a canceled query with (the client seldom reads it).
const statusClientClosedRequest = 499

// apiError is an error answer: its type and message.
type apiError struct {
	typ errorType
	err error
}

func (e *apiError) Error() string { return string(e.typ) + ": " + e.err.Error() }

// status is the HTTP status of an error type, Prometheus's but for
// unavailable: Prometheus answers it (its storage is still starting) with
// 500, promflux (the database is down or overloaded) with 503, the status
// it answers the database's unavailability with everywhere else, and
// which proxies retry elsewhere.
func (e *apiError) status() int {
	switch e.typ {
	case errorBadData:
		return http.StatusBadRequest
	case errorExec, errorCostLimit:
		return http.StatusUnprocessableEntity
	case errorCanceled:
		return statusClientClosedRequest
	case errorTimeout, errorUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// invalidParam is a bad_data error naming the parameter at fault.
func invalidParam(err error, name string) *apiError {
	return &apiError{errorBadData, fmt.Errorf("invalid parameter %q: %w", name, err)}
}

// UnavailableError is a failure of the storage behind the queryable that
// is not the query's fault and may heal: a database that is down,
// overloaded or refusing promflux's credentials. A Select fails with it
// to be answered with errorType unavailable (503); the other errors of the
// storage are answered as Prometheus answers them (ErrStorage: internal,
// 500; any other: execution, 422).
type UnavailableError struct{ Err error }

func (e UnavailableError) Error() string { return e.Err.Error() }

// Unwrap returns the storage's error.
func (e UnavailableError) Unwrap() error { return e.Err }

// execError maps the error of a query's evaluation to its answer, as
// Prometheus does, and UnavailableError to unavailable. A query whose
// context ended failed for that reason, whatever its error says (the
// storage reports its own cut requests): it timed out or was canceled.
func execError(ctx context.Context, err error) *apiError {
	var (
		canceled       promql.ErrQueryCanceled
		timeout        promql.ErrQueryTimeout
		storage        promql.ErrStorage
		tooManySeries  promql.ErrTooManySeries
		tooManySamples promql.ErrTooManySamplesRead
		unavailable    UnavailableError
	)
	switch {
	case errors.As(err, &canceled):
		return &apiError{errorCanceled, err}
	case errors.As(err, &timeout):
		return &apiError{errorTimeout, err}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &apiError{errorTimeout, promql.ErrQueryTimeout("query execution")}
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return &apiError{errorCanceled, err}
	case errors.As(err, &tooManySeries), errors.As(err, &tooManySamples):
		return &apiError{errorCostLimit, err}
	case errors.As(err, &storage):
		return &apiError{errorInternal, err}
	case errors.As(err, &unavailable):
		return &apiError{errorUnavailable, err}
	}
	return &apiError{errorExec, err}
}

// constructionError maps the error of building a query (parsing it,
// waiting for its turn) to its answer, as Prometheus does: running out of
// time or being canceled while waiting is a timeout or a cancellation,
// anything else a bad query parameter.
func constructionError(ctx context.Context, err error) *apiError {
	var (
		aboveCeiling promql.ErrLimitAboveCeiling
		timeout      promql.ErrQueryTimeout
		canceled     promql.ErrQueryCanceled
	)
	switch {
	case errors.As(err, &aboveCeiling):
		return &apiError{errorBadData, err}
	case errors.As(err, &timeout), errors.As(err, &canceled):
		return execError(ctx, err)
	}
	return invalidParam(err, "query")
}
