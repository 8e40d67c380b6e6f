package influxtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// client talks to the test server. Its timeout keeps a hung influxd from
// hanging the test binary.
var client = &http.Client{Timeout: 10 * time.Second}

// Series is one series of a query result. Values hold json.Number for
// numbers, so that timestamps and floats compare exactly.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags,omitempty"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// CreateDatabase creates the database name, failing the test on error.
func (s *Server) CreateDatabase(t testing.TB, name string) {
	t.Helper()
	s.post(t, "", "CREATE DATABASE "+QuoteIdent(name))
}

// Write writes line protocol with millisecond timestamps into db, failing
// the test unless InfluxDB answers 204.
func (s *Server) Write(t testing.TB, db, lines string) {
	t.Helper()
	u := s.URL() + "/write?" + url.Values{"db": {db}, "precision": {"ms"}}.Encode()
	resp, err := client.Post(u, "text/plain; charset=utf-8", strings.NewReader(lines))
	if err != nil {
		t.Fatalf("cannot write to influxd database %q: %v", db, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("cannot write to influxd database %q: %s: %s", db, resp.Status, strings.TrimSpace(string(body)))
	}
}

// Query runs the read query q against db with millisecond epoch timestamps
// and returns the series of its single statement. It fails the test on any
// error, including a statement error.
func (s *Server) Query(t testing.TB, db, q string) []Series {
	t.Helper()
	u := s.URL() + "/query?" + url.Values{"db": {db}, "q": {q}, "epoch": {"ms"}}.Encode()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("cannot query influxd: %v", err)
	}
	return decode(t, resp, q)
}

func (s *Server) post(t testing.TB, db, q string) []Series {
	t.Helper()
	resp, err := client.PostForm(s.URL()+"/query", url.Values{"db": {db}, "q": {q}})
	if err != nil {
		t.Fatalf("cannot run %q on influxd: %v", q, err)
	}
	return decode(t, resp, q)
}

func decode(t testing.TB, resp *http.Response, q string) []Series {
	t.Helper()
	defer resp.Body.Close()
	var body struct {
		Results []struct {
			Series []Series `json:"series"`
			Err    string   `json:"error"`
		} `json:"results"`
		Err string `json:"error"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("cannot decode influxd answer to %q (%s): %v", q, resp.Status, err)
	}
	switch {
	case body.Err != "":
		t.Fatalf("influxd refused %q: %s: %s", q, resp.Status, body.Err)
	case len(body.Results) != 1:
		t.Fatalf("influxd answered %q with %d results, want 1", q, len(body.Results))
	case body.Results[0].Err != "":
		t.Fatalf("influxd failed %q: %s", q, body.Results[0].Err)
	}
	return body.Results[0].Series
}

// QuoteIdent quotes an InfluxQL identifier such as a database name.
func QuoteIdent(name string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return fmt.Sprintf(`"%s"`, r.Replace(name))
}
