package influxworker

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
)

// streamChunkSize is the chunk_size of QueryStream, InfluxDB's own
// default: the cost per chunk vanishes, and a chunk of about 40 bytes a row
// stays well below a megabyte.
const streamChunkSize = 10000

// SeriesChunk is one series of a streamed query result, or one run of its
// rows: InfluxDB splits a series into chunks of at most chunk_size rows and
// sets Partial on all but the last.
//
// Rows are decoded into typed columns, since reads run to tens of millions
// of rows: the query must select the time and one or more value columns.
// Times[i], Values[i], Extra[c][i] and Text[c][i] are one row; a row whose
// value columns are all null is left out. A string or boolean cell is not
// null, so a row of "" is kept although its cell reads as a null one.
//
// Several value columns come from queries such as
//
//	SELECT count("value"::field), count("special"::field) FROM ... GROUP BY *
//
// (columns time, count and count_1). InfluxDB 1.6 answers null, not 0, for
// the count of a field a series lacks, so such a count is NaN.
//
// A SeriesChunk, its map and its slices are reused for the next chunk: the
// callback of QueryStream must copy what it keeps. Its strings may be kept.
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
	// Values are the first value column: integers exact up to 2^53, floats
	// bit for bit, booleans 1 or 0, and null or string cells NaN (InfluxDB
	// never returns NaN for a float field or a count).
	Values []float64
	// Extra holds the further value columns, converted as Values:
	// Extra[c][i] is row i of column c+2.
	Extra [][]float64
	// Text holds the string cells of every value column: Text[c][i] is row
	// i of value column c (0 being Values'), "" for a cell that is not a
	// string. It is nil for a chunk without a string cell, so that reads of
	// numbers pay nothing for it.
	Text [][]string
	// Keys holds the rows of a result of one string column and no time,
	// such as SHOW SERIES (column "key"), whose rows are strings. Times,
	// Values, Extra and Text are then empty.
	Keys []string
	// Partial is set when more rows of the series follow in the next chunk.
	Partial bool
}

// Cell is value column col (0 being Values) of row i, as a number (NaN
// when null or not a number, or past the chunk's columns) and as text (""
// when not a string).
func (c *SeriesChunk) Cell(col, i int) (float64, string) {
	num := math.NaN()
	switch {
	case col == 0:
		num = c.Values[i]
	case col-1 < len(c.Extra):
		num = c.Extra[col-1][i]
	}
	var text string
	if col < len(c.Text) {
		text = c.Text[col][i]
	}
	return num, text
}

// QueryStream runs the read-only InfluxQL q and calls fn for every series
// chunk as InfluxDB streams it, in InfluxDB's order, so that no result is
// held whole. q should hold one statement: the series of several would
// arrive without telling them apart.
//
// It holds a worker throughout and is not retried; pool.timeout does not
// apply, ctx alone bounds the request and the wait for a worker.
//
// Rows must have SeriesChunk's shape, else QueryStream fails (arrays or
// objects in cells, a time that is not an integer, rows of unlike
// lengths). An error of fn stops the stream and is returned unchanged.
// Every other error is an *Error, classified as by Query; a statement
// error, a broken connection or an answer ending inside a series may come
// after chunks were passed to fn. A stream that ends without error has
// delivered every row.
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
		// In the body: the query of a large read is long, and must stay out
		// of URL length limits and access logs.
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
