package influxworker

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/config"
)

// fakeV2 is a fake InfluxDB 2.x HTTP API, not a real server (none is
// installed to test against): it checks that every request is exactly what
// InfluxDB 2.x expects (method, path, parameters, Token authorization,
// content type and encoding), records the decoded write bodies and query
// parameters, and answers writes with the status and JSON body a test sets.
// A request it does not expect fails the test.
type fakeV2 struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu         sync.Mutex
	status     int
	body       string
	writes     []string
	encodings  []string
	queries    []url.Values
	writeCalls int
}

func newFakeV2(t *testing.T, token string) *fakeV2 {
	f := &fakeV2{t: t, token: token, status: http.StatusNoContent}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// answer sets the status and body of the following write answers.
func (f *fakeV2) answer(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func (f *fakeV2) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Influxdb-Version", "v2.7.11")
	w.Header().Set("X-Influxdb-Build", "OSS")
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := r.Header.Get("Authorization"); got != "Token "+f.token {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":"unauthorized","message":"unauthorized access"}`)
		return
	}
	switch r.URL.Path {
	case "/ping":
		if r.Method != http.MethodGet {
			f.t.Errorf("ping: method %s, want GET", r.Method)
		}
		w.WriteHeader(http.StatusNoContent)
	case "/api/v2/write":
		f.writeCalls++
		want := url.Values{"org": {"my-org"}, "bucket": {"prom-bucket"}, "precision": {"ms"}}
		if r.Method != http.MethodPost || r.URL.RawQuery != want.Encode() {
			f.t.Errorf("write: %s ?%s, want POST ?%s", r.Method, r.URL.RawQuery, want.Encode())
		}
		if ct := r.Header.Get("Content-Type"); ct != writeContentType {
			f.t.Errorf("write: Content-Type %q, want %q", ct, writeContentType)
		}
		enc := r.Header.Get("Content-Encoding")
		var body io.Reader = r.Body
		if enc == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				f.t.Errorf("write: bad gzip body: %v", err)
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			body = zr
		} else if enc != "" {
			f.t.Errorf("write: Content-Encoding %q", enc)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			f.t.Errorf("write: reading body: %v", err)
		}
		f.writes = append(f.writes, string(b))
		f.encodings = append(f.encodings, enc)
		if f.body != "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
	case "/query":
		q := r.URL.Query()
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				f.t.Errorf("query: %v", err)
			}
			q.Set("q", r.PostForm.Get("q"))
		}
		f.queries = append(f.queries, q)
		w.Header().Set("Content-Type", "application/json")
		if q.Get("chunked") == "true" {
			_, _ = io.WriteString(w, `{"results":[{"statement_id":0,"series":[{"name":"up","columns":["time","value"],"values":[[1700000000000,1]]}]}]}`+"\n")
			return
		}
		_, _ = io.WriteString(w, `{"results":[{"statement_id":0,"series":[{"name":"measurements","columns":["name"],"values":[["up"]]}]}]}`)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

func newV2Pool(t *testing.T, f *fakeV2, token string, m *Metrics) *Pool {
	return newTestPool(t, f.srv.URL, m, func(c *Config) {
		c.API, c.Org, c.Bucket, c.Token = APIv2, "my-org", "prom-bucket", config.Secret(token)
		c.Pool.Retry.MaxAttempts = 1
		c.Pool.Gzip = new(true) // the fake listens on loopback, where it is off by default
	})
}

func TestV2Write(t *testing.T) {
	const token = "tok-v2-3f9a"
	const lines = "up,job=a value=1 1700000000000\nup,job=b value=0 1700000000000\n"
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		wantErr   string
		permanent bool
		reason    string
	}{
		{name: "204", status: 204},
		{
			name: "422 beyond retention", status: 422,
			body:      `{"code":"unprocessable entity","message":"failure writing points to database: partial write: points beyond retention policy dropped=2"}`,
			wantErr:   `influxdb "test": write: 422 Unprocessable Entity: failure writing points to database: partial write: points beyond retention policy dropped=2`,
			permanent: true, reason: ReasonRejected,
		},
		{
			name: "400 unparsable", status: 400,
			body:      `{"code":"invalid","message":"unable to parse 'up value=': missing field value"}`,
			wantErr:   `influxdb "test": write: 400 Bad Request: unable to parse 'up value=': missing field value`,
			permanent: true, reason: ReasonRejected,
		},
		{
			name: "404 bucket not found", status: 404,
			body:    `{"code":"not found","message":"bucket \"prom-bucket\" not found"}`,
			wantErr: `influxdb "test": write: 404 Not Found: bucket "prom-bucket" not found`,
			reason:  ReasonUnavailable,
		},
		{
			name: "503", status: 503,
			body:    `{"code":"unavailable","message":"service unavailable"}`,
			wantErr: `influxdb "test": write: 503 Service Unavailable: service unavailable`,
			reason:  ReasonUnavailable,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeV2(t, token)
			f.answer(tc.status, tc.body)
			m := NewMetrics(prometheus.NewRegistry())
			p := newV2Pool(t, f, token, m)
			ctx := context.Background()
			// The first write goes plain; the answer identifies InfluxDB, so
			// the second is compressed.
			for range 2 {
				err := p.Write(ctx, []byte(lines))
				if tc.wantErr == "" {
					if err != nil {
						t.Fatalf("Write() = %v", err)
					}
					continue
				}
				var e *Error
				if !errors.As(err, &e) || err.Error() != tc.wantErr {
					t.Fatalf("Write() = %v\nwant %s", err, tc.wantErr)
				}
				if IsPermanent(err) != tc.permanent || Reason(err) != tc.reason {
					t.Fatalf("permanent %v reason %q, want %v %q", IsPermanent(err), Reason(err), tc.permanent, tc.reason)
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.writes) != 2 || f.writes[0] != lines || f.writes[1] != lines {
				t.Fatalf("bodies %q, want %q twice", f.writes, lines)
			}
			if f.encodings[0] != "" || f.encodings[1] != "gzip" {
				t.Fatalf("Content-Encoding %q, want plain then gzip", f.encodings)
			}
			wantPoints := 0.0
			if tc.wantErr == "" {
				wantPoints = 4
			}
			if got := testutil.ToFloat64(m.pointsWritten.WithLabelValues("test")); got != wantPoints {
				t.Fatalf("points written %v, want %v", got, wantPoints)
			}
		})
	}
}

func TestV2BucketDefaultsToDatabase(t *testing.T) {
	f := newFakeV2(t, "t")
	p := newTestPool(t, f.srv.URL, nil, func(c *Config) {
		c.API, c.Org, c.Database, c.Token = APIv2, "my-org", "prom-bucket", "t"
	})
	if err := p.Write(context.Background(), []byte("m v=1 1\n")); err != nil {
		t.Fatal(err)
	}
	if f.writeCalls != 1 {
		t.Fatalf("%d writes reached /api/v2/write", f.writeCalls)
	}
}

func TestV2QueryAndPing(t *testing.T) {
	const token = "tok-q"
	f := newFakeV2(t, token)
	p := newV2Pool(t, f, token, nil)
	ctx := context.Background()
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping() = %v", err)
	}
	resp, err := p.Query(ctx, "SHOW MEASUREMENTS")
	if err != nil {
		t.Fatalf("Query() = %v", err)
	}
	if len(resp.Results) != 1 || len(resp.Results[0].Series) != 1 || resp.Results[0].Series[0].Values[0][0] != "up" {
		t.Fatalf("Query() = %+v", resp)
	}
	var rows int
	err = p.QueryStream(ctx, `SELECT "value"::field FROM "up"`, func(c *SeriesChunk) error {
		rows += len(c.Times)
		return nil
	})
	if err != nil || rows != 1 {
		t.Fatalf("QueryStream() = %v with %d rows, want 1 row", err, rows)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queries) != 2 {
		t.Fatalf("%d queries, want 2", len(f.queries))
	}
	for i, want := range []url.Values{
		{"db": {"db"}, "epoch": {"ms"}, "q": {"SHOW MEASUREMENTS"}},
		{"db": {"db"}, "epoch": {"ms"}, "chunked": {"true"}, "chunk_size": {"10000"}, "q": {`SELECT "value"::field FROM "up"`}},
	} {
		if got := f.queries[i].Encode(); got != want.Encode() {
			t.Errorf("query %d: %s, want %s", i, got, want.Encode())
		}
	}
}

func TestV2UnauthorizedHidesToken(t *testing.T) {
	f := newFakeV2(t, "the-right-token")
	const wrong = "wrong-token-7c1e"
	p := newV2Pool(t, f, wrong, nil)
	err := p.Write(context.Background(), []byte("m v=1 1\n"))
	const want = `influxdb "test": write: 401 Unauthorized: unauthorized access`
	if err == nil || err.Error() != want {
		t.Fatalf("Write() = %v, want %s", err, want)
	}
	if IsPermanent(err) {
		t.Fatal("401 is a configuration problem, must not be permanent")
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatalf("error carries the token: %v", err)
	}
}
