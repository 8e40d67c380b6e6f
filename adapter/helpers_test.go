package adapter

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

const (
	contentTypeV1 = "application/x-protobuf;proto=prometheus.WriteRequest"
	contentTypeV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
)

// startAdapter serves a promflux adapter configured with config on an
// httptest server.
func startAdapter(t *testing.T, config string) (*Server, *httptest.Server) {
	t.Helper()
	return startAdapterWithLogger(t, config, log.NewNopLogger())
}

// startAdapterLogging is startAdapter with a log at the default level
// (info), returned.
func startAdapterLogging(t *testing.T, config string) (*httptest.Server, *lockedBuffer) {
	t.Helper()
	var buf lockedBuffer
	_, ts := startAdapterWithLogger(t, config, level.NewFilter(log.NewLogfmtLogger(&buf), level.AllowInfo()))
	return ts, &buf
}

// lockedBuffer is a bytes.Buffer that handlers may write while a test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startAdapterWithLogger(t *testing.T, config string, logger log.Logger) (*Server, *httptest.Server) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "promflux.yml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := New(path, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return srv, ts
}

// response is what a test keeps of an HTTP answer.
type response struct {
	status int
	header http.Header
	body   string
}

func post(t *testing.T, url, contentType, encoding string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

// writeV1 posts series as a snappy RW 1.0 request.
func writeV1(t *testing.T, url string, series ...prompb.TimeSeries) response {
	t.Helper()
	return post(t, url, contentTypeV1, "snappy", writeV1Body(t, series...))
}

// writeV1Body is the snappy RW 1.0 body of series.
func writeV1Body(t testing.TB, series ...prompb.TimeSeries) []byte {
	t.Helper()
	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: series})
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

// writeV2 posts series as a snappy RW 2.0 request.
func writeV2(t *testing.T, url string, req *writev2.Request) response {
	t.Helper()
	raw, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return post(t, url, contentTypeV2, "snappy", snappy.Encode(nil, raw))
}

// v2Request builds an RW 2.0 request from label sets in RW 1.0 shape,
// through the symbol table.
func v2Request(series ...prompb.TimeSeries) *writev2.Request {
	st := writev2.NewSymbolTable()
	req := &writev2.Request{}
	for _, s := range series {
		ts := writev2.TimeSeries{}
		for _, l := range s.Labels {
			ts.LabelsRefs = append(ts.LabelsRefs, st.Symbolize(l.Name), st.Symbolize(l.Value))
		}
		for _, smp := range s.Samples {
			ts.Samples = append(ts.Samples, writev2.Sample{Value: smp.Value, Timestamp: smp.Timestamp})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Symbols = st.Symbols()
	return req
}

func series(name string, kv []string, samples ...prompb.Sample) prompb.TimeSeries {
	lbls := []prompb.Label{{Name: "__name__", Value: name}}
	for i := 0; i+1 < len(kv); i += 2 {
		lbls = append(lbls, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return prompb.TimeSeries{Labels: lbls, Samples: samples}
}

// fakeInflux is a fake line-protocol sink for fault injection: it answers
// /write with the status the test chooses and keeps the bodies it accepted.
// The behaviour of the real InfluxDB is covered by the integration tests.
type fakeInflux struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	body   string
	lines  []string
}

func newFakeInflux(t *testing.T) *fakeInflux {
	f := &fakeInflux{status: http.StatusNoContent}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.URL.Path != "/write" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if f.status/100 == 2 {
			f.lines = append(f.lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
		}
		if f.body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeInflux) fail(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func (f *fakeInflux) written() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}
