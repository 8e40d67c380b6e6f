package influxworker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeResponseGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/query_response.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeResponse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := &Response{Results: []Result{
		{StatementID: 0, Series: []Series{{
			Name:    "node_cpu_seconds_total",
			Tags:    map[string]string{"cpu": "0", "mode": "idle"},
			Columns: []string{"time", "value", "big", "ok", "s", "nil"},
			Values: [][]any{
				// 2^53+1 and MinInt64 survive because numbers stay text.
				{json.Number("1700000000123"), json.Number("0.1"), json.Number("9007199254740993"), true, "x", nil},
				{json.Number("1700000000124"), json.Number("1e-300"), json.Number("-9223372036854775808"), false, "", nil},
			},
		}}},
		{StatementID: 1, Messages: []Message{{Level: "warning", Text: "deprecated"}}},
		{StatementID: 2, Err: "database not found: nope"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if msg := got.errorMessage(); msg != "statement 2: database not found: nope" {
		t.Fatalf("errorMessage() = %q", msg)
	}
}

func FuzzDecodeResponse(f *testing.F) {
	if b, err := os.ReadFile("testdata/query_response.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"error":"error parsing query"}`))
	f.Add([]byte(`{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time"],"values":[[1]],"partial":true}],"partial":true}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := decodeResponse(bytes.NewReader(b))
		if err != nil {
			if resp != nil {
				t.Fatal("response with error")
			}
			return
		}
		// What decodes must survive a round trip unchanged, numbers included.
		out, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("cannot encode decoded response: %v", err)
		}
		again, err := decodeResponse(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("cannot decode %s: %v", out, err)
		}
		if !reflect.DeepEqual(normalize(resp), normalize(again)) {
			t.Fatalf("round trip changed %+v into %+v", resp, again)
		}
	})
}

// normalize maps empty slices and maps to nil, which omitempty drops.
func normalize(r *Response) *Response {
	c := *r
	if len(c.Results) == 0 {
		c.Results = nil
	}
	for i := range c.Results {
		res := &c.Results[i]
		if len(res.Series) == 0 {
			res.Series = nil
		}
		if len(res.Messages) == 0 {
			res.Messages = nil
		}
		for j := range res.Series {
			s := &res.Series[j]
			if len(s.Tags) == 0 {
				s.Tags = nil
			}
			if len(s.Values) == 0 {
				s.Values = nil
			}
		}
	}
	return &c
}

func BenchmarkDecodeResponse(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"job":"node"},"columns":["time","value"],"values":[`)
	for i := range 10000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, "[%d,%d.25]", 1700000000000+i*15000, i)
	}
	buf.WriteString(`]}]}]}`)
	body := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeResponse(bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		code      int
		body      string
		wantResp  bool
		wantErr   string
		permanent bool
	}{
		{
			name: "ok", code: 200, body: `{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["db"]]}]}]}`,
			wantResp: true,
		},
		{
			name: "parse error", code: 400, body: `{"error":"error parsing query: found SELEC, expected SELECT"}`,
			wantErr: `influxdb "test": query: 400 Bad Request: error parsing query: found SELEC, expected SELECT`, permanent: true,
		},
		{
			name: "statement error", code: 200, body: `{"results":[{"statement_id":0,"series":[]},{"statement_id":1,"error":"database not found: nope"}]}`,
			wantResp: true, wantErr: `influxdb "test": query: 200 OK: statement 1: database not found: nope`,
		},
		{
			name: "garbage", code: 200, body: `<html>`,
			wantErr: `influxdb "test": query: 200 OK: cannot decode query response: invalid character '<' looking for beginning of value`,
		},
		{
			name: "server error", code: 500, body: `{"error":"engine closed"}`,
			wantErr: `influxdb "test": query: 500 Internal Server Error: engine closed`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.code)
				fmt.Fprint(w, tc.body)
			}))
			defer ts.Close()
			resp, err := newTestPool(t, ts.URL, nil, nil).Query(context.Background(), "SHOW DATABASES")
			if (resp != nil) != tc.wantResp {
				t.Errorf("response %+v, want one: %v", resp, tc.wantResp)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := resp.Results[0].Series[0].Values[0][0]; got != "db" {
					t.Errorf("value %v, want db", got)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || err.Error() != tc.wantErr || e.Permanent != tc.permanent {
				t.Fatalf("Query() error = %v (permanent %v)\nwant %s (permanent %v)", err, IsPermanent(err), tc.wantErr, tc.permanent)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines")
			}
		})
	}
}
