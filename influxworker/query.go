package influxworker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Response is InfluxDB's JSON answer to /query.
type Response struct {
	// Results holds one result per statement, in order.
	Results []Result `json:"results"`
	// Err is set when InfluxDB refused the whole query.
	Err string `json:"error,omitempty"`
}

// Result is the answer to one statement.
type Result struct {
	StatementID int       `json:"statement_id"`
	Series      []Series  `json:"series,omitempty"`
	Messages    []Message `json:"messages,omitempty"`
	// Partial is set on all but the last chunk of a chunked answer.
	Partial bool `json:"partial,omitempty"`
	// Err is the statement's error; Query and Post also return it as an
	// *Error.
	Err string `json:"error,omitempty"`
}

// Series is one series of a statement's result.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags,omitempty"`
	Columns []string          `json:"columns"`
	// Values holds one row per point, aligned with Columns. Numbers are
	// json.Number, so that int64 values and millisecond timestamps keep
	// every digit and floats their exact text.
	Values [][]any `json:"values,omitempty"`
	// Partial is set when the series continues in the next chunk.
	Partial bool `json:"partial,omitempty"`
}

// Message is an informational message attached to a result, e.g. a
// deprecation warning.
type Message struct {
	Level string `json:"level"`
	Text  string `json:"text"`
}

// Query runs the read-only InfluxQL q with GET /query against the database,
// with timestamps as milliseconds since the epoch. A retention policy is
// part of the query text (FROM "rp"."m"), not a parameter.
//
// If a statement failed, Query returns the Response with the other
// statements' results and a retryable *Error naming the statement; only a
// query InfluxDB cannot parse (400) is a permanent error. The whole answer
// is read within pool.timeout: large results belong to QueryStream.
func (p *Pool) Query(ctx context.Context, q string) (*Response, error) {
	u := p.queryURL + "?" + url.Values{"db": {p.cfg.Database}, "q": {q}, "epoch": {"ms"}}.Encode()
	return p.query(ctx, request{op: OpQuery, method: http.MethodGet, url: u})
}

// Post runs q with POST /query, as InfluxDB requires for statements that
// change data or schema, e.g. CREATE DATABASE. The query travels in the
// form body, out of access logs. Errors are as Query's.
func (p *Pool) Post(ctx context.Context, q string) (*Response, error) {
	return p.post(ctx, OpPost, q)
}

func (p *Pool) post(ctx context.Context, op, q string) (*Response, error) {
	u := p.queryURL + "?" + url.Values{"db": {p.cfg.Database}, "epoch": {"ms"}}.Encode()
	return p.query(ctx, request{
		op:          op,
		method:      http.MethodPost,
		url:         u,
		body:        []byte(url.Values{"q": {q}}.Encode()),
		contentType: "application/x-www-form-urlencoded",
	})
}

// query sends r, retrying as RetryConfig says (queries and CREATE DATABASE
// are safe to repeat), and decodes the answer inside do, so that a server
// stalling mid-body times out too.
func (p *Pool) query(ctx context.Context, r request) (*Response, error) {
	var resp *Response
	err := p.doRetry(ctx, r, func(body io.Reader) error {
		var derr error
		resp, derr = decodeResponse(body)
		return derr
	})
	if err != nil {
		return nil, err
	}
	if msg := resp.errorMessage(); msg != "" {
		return resp, &Error{Op: r.op, Name: p.cfg.Name, StatusCode: http.StatusOK, Message: message(msg)}
	}
	return resp, nil
}

// decodeResponse decodes one JSON answer of /query, keeping numbers exact.
func decodeResponse(r io.Reader) (*Response, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var resp Response
	if err := dec.Decode(&resp); err != nil {
		return nil, fmt.Errorf("cannot decode query response: %w", err)
	}
	return &resp, nil
}

// errorMessage joins the top-level and statement errors of resp, "" if none.
func (resp *Response) errorMessage() string {
	var msgs []string
	if resp.Err != "" {
		msgs = append(msgs, resp.Err)
	}
	for _, r := range resp.Results {
		if r.Err != "" {
			msgs = append(msgs, fmt.Sprintf("statement %d: %s", r.StatementID, r.Err))
		}
	}
	return strings.Join(msgs, "; ")
}
