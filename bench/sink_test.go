package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func startSink(t *testing.T, validate, noVersion bool) (*sink, *httptest.Server) {
	t.Helper()
	s := &sink{validate: validate, noVersion: noVersion}
	srv := httptest.NewServer(s.handler())
	t.Cleanup(srv.Close)
	return s, srv
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestSinkPing(t *testing.T) {
	for _, noVersion := range []bool{false, true} {
		_, srv := startSink(t, false, noVersion)
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ping", nil)
		resp, _ := do(t, req)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("ping: %s", resp.Status)
		}
		want := sinkVersion
		if noVersion {
			want = ""
		}
		if got := resp.Header.Get("X-Influxdb-Version"); got != want {
			t.Fatalf("noVersion=%v: X-Influxdb-Version %q, want %q", noVersion, got, want)
		}
	}
}

func TestSinkQuery(t *testing.T) {
	_, srv := startSink(t, false, false)
	post := func(q string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/query", strings.NewReader(url.Values{"q": {q}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, body := do(t, req)
		return resp.StatusCode, strings.TrimSpace(body)
	}
	for _, tc := range []struct {
		q, want string
		code    int
	}{
		{`CREATE DATABASE "pro\"m"`, `{"results":[{"statement_id":0}]}`, 200},
		{`create database other WITH DURATION 1d; SHOW DATABASES`,
			`{"results":[{"statement_id":0},{"statement_id":1,"series":[{"name":"databases","columns":["name"],"values":[["pro\"m"],["other"]]}]}]}`, 200},
		{`SHOW MEASUREMENTS; SELECT * FROM m`, `{"results":[{"statement_id":0},{"statement_id":1}]}`, 200},
		{`DROP DATABASE x`, `{"results":[{"statement_id":0,"error":"the fake sink does not run this statement: DROP DATABASE x"}]}`, 200},
		{``, `{"error":"missing required parameter \"q\""}`, 400},
	} {
		t.Run(tc.q, func(t *testing.T) {
			code, body := post(tc.q)
			if code != tc.code || body != tc.want {
				t.Fatalf("got %d %s\nwant %d %s", code, body, tc.code, tc.want)
			}
		})
	}
}

func gzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSinkWrite(t *testing.T) {
	big := strings.Repeat("cpu,host=a value=1.5 1700000000000\n", 5000) // several read pieces
	for _, tc := range []struct {
		name     string
		validate bool
		body     string
		gzip     bool
		db       string
		code     int
		lines    int64 // counted after this write
		bodies   int64
	}{
		{"plain", false, "m v=1 1\nm v=2 2\n", false, "db", 204, 2, 1},
		{"gzip, unterminated last line", false, "m v=1 1\nm v=2 2\nm v=3", true, "db", 204, 3, 1},
		{"large gzip", false, big, true, "db", 204, 5000, 1},
		{"counting does not parse", false, "not line protocol\n", false, "db", 204, 1, 1},
		{"no database", false, "m v=1\n", false, "", 400, 0, 0},
		{"validating, valid", true, "m,t=a\\ b v=1 1\n# comment\nm s=\"x\" 2\n", false, "db", 204, 2, 1},
		{"validating, gzip", true, big, true, "db", 204, 5000, 1},
		{"validating, malformed line", true, "m v=1\nm v=\nm v=3\n", false, "db", 400, 2, 0},
		{"bad gzip", false, "m v=1\n", false, "db", 400, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, srv := startSink(t, tc.validate, false)
			body := []byte(tc.body)
			if tc.gzip {
				body = gzipped(t, tc.body)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/write?"+url.Values{"db": {tc.db}}.Encode(), bytes.NewReader(body))
			if tc.gzip || tc.name == "bad gzip" {
				req.Header.Set("Content-Encoding", "gzip")
			}
			resp, msg := do(t, req)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %s (%s), want %d", resp.Status, msg, tc.code)
			}
			if tc.code != 204 && !strings.Contains(msg, `"error"`) {
				t.Fatalf("error answer %q is not InfluxDB's JSON", msg)
			}

			// What a script reads back.
			req, _ = http.NewRequest(http.MethodGet, srv.URL+"/debug/sink", nil)
			_, raw := do(t, req)
			var st sinkStats
			if err := json.Unmarshal([]byte(raw), &st); err != nil {
				t.Fatalf("/debug/sink: %v: %s", err, raw)
			}
			if st.Lines != tc.lines || st.Bodies != tc.bodies {
				t.Fatalf("/debug/sink = %+v, want %d lines, %d bodies", st, tc.lines, tc.bodies)
			}
			if tc.code == 204 && (st.Bytes != int64(len(tc.body)) || st.WireBytes != int64(len(body))) {
				t.Fatalf("/debug/sink = %+v, want %d bytes, %d on the wire", st, len(tc.body), len(body))
			}
			if tc.code != 204 && s.rejected.Load() != 1 {
				t.Fatalf("%d rejected bodies, want 1", s.rejected.Load())
			}
		})
	}
}

// TestSinkReusesBuffers: bodies of different sizes one after the other
// through the pooled buffers and gzip readers count exactly.
func TestSinkReusesBuffers(t *testing.T) {
	for _, validate := range []bool{false, true} {
		s, srv := startSink(t, validate, false)
		want := int64(0)
		for _, n := range []int{3000, 10, 700, 1} {
			want += int64(n)
			body := gzipped(t, strings.Repeat("m,t=x v=1 1\n", n))
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/write?db=x", bytes.NewReader(body))
			req.Header.Set("Content-Encoding", "gzip")
			if resp, msg := do(t, req); resp.StatusCode != 204 {
				t.Fatalf("%s: %s", resp.Status, msg)
			}
		}
		if got := s.lines.Load(); got != want {
			t.Fatalf("validate=%v: %d lines, want %d", validate, got, want)
		}
	}
}

func BenchmarkSinkWrite(b *testing.B) {
	for _, validate := range []bool{false, true} {
		name := "count"
		if validate {
			name = "validate"
		}
		b.Run(name, func(b *testing.B) {
			s := &sink{validate: validate}
			h := s.handler()
			body := benchBody(b)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/write?db=x", bytes.NewReader(body))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 204 {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
}
