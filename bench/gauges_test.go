package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseGauges(t *testing.T) {
	page := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 2217
go_goroutines_other 5
process_open_fds{x="y"} 99
process_open_fds 2231
process_resident_memory_bytes 1.2345678e+08
promflux_http_connections_open 2203 1700000000000
`
	got, err := parseGauges(strings.NewReader(page), []string{"go_goroutines", "process_open_fds", "process_resident_memory_bytes", "promflux_http_connections_open", "process_max_fds"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"go_goroutines":                  2217,
		"process_open_fds":               2231, // the sample without labels
		"process_resident_memory_bytes":  123456780,
		"promflux_http_connections_open": 2203,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parseGauges = %v, want %v", got, want)
	}
	if _, err := parseGauges(strings.NewReader("go_goroutines many\n"), []string{"go_goroutines"}); err == nil {
		t.Fatal("a value that is not a number parsed")
	}
}

// TestGaugeWatch: every scrape is a CSV row of the watched gauges, RSS in
// MiB; the first and largest values are kept; a failed scrape counts.
func TestGaugeWatch(t *testing.T) {
	goroutines := 10
	fail := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "go_goroutines %d\nprocess_resident_memory_bytes %d\nprocess_open_fds 7\n", goroutines, 3<<20)
	}))
	defer srv.Close()
	var out bytes.Buffer
	g := newGaugeWatch(srv.URL, &out)
	for _, n := range []int{10, 30, 20} {
		goroutines = n
		if err := g.scrape(); err != nil {
			t.Fatal(err)
		}
	}
	fail = true
	if err := g.scrape(); err == nil {
		t.Fatal("a 503 scraped")
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "time,rss_mib,goroutines,open_fds,max_fds,connections" {
		t.Fatalf("header %s", got)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want the header and 3 scrapes: %q", len(rows), rows)
	}
	if got := strings.Join(rows[2][1:], ","); got != "3.0,30,7,," {
		t.Fatalf("second row %s, want 3.0,30,7,, (gauges the page lacks are empty)", got)
	}
	if g.firstOf("go_goroutines") != 10 || g.maxOf("go_goroutines") != 30 || g.failed != 1 || g.scrapes != 4 {
		t.Fatalf("first %v, max %v, %d of %d failed; want 10, 30, 1 of 4", g.firstOf("go_goroutines"), g.maxOf("go_goroutines"), g.failed, g.scrapes)
	}
	if v := g.maxOf("process_max_fds"); v == v {
		t.Fatalf("max of a gauge never seen = %v, want NaN", v)
	}
}
