package influxworker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// streamChunkSize is the chunk_size of QueryStream: at most this many rows
// of one series per chunk. It is InfluxDB's own default: large enough that
// the per-chunk overhead (one JSON object, one call of fn) vanishes next to
// the rows, small enough that a chunk (about 40 bytes per row) stays well
// below a megabyte of buffer.
const streamChunkSize = 10000

// SeriesChunk is one series of a streamed query result, or one run of rows
// of it: InfluxDB splits a series into chunks of at most chunk_size rows and
// sets Partial on all but its last chunk.
//
// Rows are decoded into typed columns instead of generic cells, because
// reads are tens of millions of rows: the query must select the time (as
// integer milliseconds, which QueryStream asks for) and one or more value
// columns, such as fields or counts. Times[i], Values[i], Extra[c][i] and
// Text[c][i] are one row. A row whose value columns are all null is left
// out; so with a single value column every row has a value.
//
// Numbers are floats. A boolean cell is 1 or 0. A string cell is NaN in
// Values or Extra and its text in Text, which exists only for chunks with
// a string cell, so that reads of numbers pay nothing for it. A string or
// boolean cell is not null: a row of an empty string is kept, although its
// cell reads NaN and "" as a null cell does.
//
// Several value columns come from queries such as
//
//	SELECT "value"::field, "special"::field FROM ... GROUP BY *
//
// where a row has one field and null for the other, and
//
//	SELECT count("value"::field), count("special"::field) FROM ... GROUP BY *
//
// whose columns are time, count and count_1. InfluxDB 1.6 answers null,
// not 0, for the count of a field a series lacks, so such a count is NaN
// (a series with neither field is not listed at all).
//
// A SeriesChunk and its map and slices, those of Extra and Text included,
// are reused for the next chunk: the callback of QueryStream must copy what
// it keeps. The strings, those of Text included, may be kept: they do not
// share the buffer of the answer.
type SeriesChunk struct {
	// Name is the measurement.
	Name string
	// Tags are the series' tags. With GROUP BY * InfluxDB lists every tag
	// key of the measurement (of all measurements of the query), with ""
	// for a key the series lacks.
	Tags map[string]string
	// Columns are the column names: "time" and the value columns.
	Columns []string
	// Times are the rows' timestamps in milliseconds since the epoch.
	Times []int64
	// Values are the rows' values of the first value column. Integers (e.g.
	// a count) are converted to float64, exactly up to 2^53; floats keep
	// every bit, -0 included. Booleans are 1 or 0. A string cell is NaN
	// (its text is in Text); with several value columns, so is a null cell,
	// as in Extra.
	Values []float64
	// Extra holds the value columns after the first, each aligned with
	// Times (Extra[c][i] is row i of column c+2), converted as Values. It is
	// empty with a single value column.
	// A null or string cell is NaN: InfluxDB never returns NaN for a float
	// field or a count.
	Extra [][]float64
	// Text holds the string cells of every value column, aligned with
	// Times: Text[c][i] is row i of value column c (c = 0 is the first
	// value column, the one in Values). It is nil when the chunk has no
	// string cell; a cell that is not a string is "". JSON escapes are
	// decoded as encoding/json does.
	Text [][]string
	// Keys holds the rows of a result of one string column and no time,
	// such as SHOW SERIES (column "key"), whose rows are strings. Times,
	// Values, Extra and Text are then empty.
	Keys []string
	// Partial is set when more rows of the series follow in the next chunk.
	Partial bool
}

// QueryStream runs the read-only InfluxQL q and calls fn for every series
// chunk as InfluxDB streams it, so that results of any size never have to be
// held in memory. The query travels as a POST form body (it may be long),
// with db, epoch=ms, chunked=true and chunk_size. Rows of one series may
// span several calls (the chunk's Partial flag); calls come in InfluxDB's
// order.
//
// pool.timeout does not apply, because reads can be long: ctx alone bounds
// the request, the wait for a worker included. QueryStream holds a worker
// for its whole duration.
//
// The rows must have the shape SeriesChunk describes, else QueryStream
// fails: cells that are not numbers, strings, booleans or null (arrays,
// objects), a time that is not an integer, or rows of a series with unlike
// numbers of cells. q should hold one statement; the series of several
// statements would arrive one statement after the other, without telling
// them apart.
//
// Errors: when fn returns an error, the stream stops and QueryStream returns
// that error unchanged. Everything else is an *Error, classified as by
// Query: a query InfluxDB cannot parse is permanent; a statement error
// (e.g. database not found) is retryable and may come after some chunks
// were passed to fn, and so may a broken connection or an answer that ends
// inside a series. A stream that ends without error has delivered every row.
func (p *Pool) QueryStream(ctx context.Context, q string, fn func(*SeriesChunk) error) error {
	params := url.Values{
		"db":         {p.cfg.Database},
		"epoch":      {"ms"},
		"chunked":    {"true"},
		"chunk_size": {strconv.Itoa(p.chunkSize)},
	}
	var fnErr error
	err := p.do(ctx, request{
		op:     OpQueryStream,
		method: http.MethodPost,
		url:    p.queryURL + "?" + params.Encode(),
		// In the body, because the query of a large read is long and must
		// not hit URL length limits or end up in access logs.
		body:        []byte(url.Values{"q": {q}}.Encode()),
		contentType: "application/x-www-form-urlencoded",
		stream:      true,
	}, func(body io.Reader) error {
		err := newStreamDecoder(body).decode(func(c *SeriesChunk) error {
			// The answer may be buffered already: stop at the next chunk
			// rather than at the next read.
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(c); err != nil {
				fnErr = err
				return err
			}
			return nil
		})
		var msg influxError
		if errors.As(err, &msg) {
			return &Error{Op: OpQueryStream, Name: p.cfg.Name, StatusCode: http.StatusOK, Message: message(string(msg))}
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}
