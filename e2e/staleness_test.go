package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// TestStalenessEndToEnd: when a scrape target goes away, Prometheus A marks
// its series stale; the stale markers travel through promflux into InfluxDB
// and back, so Prometheus B, reading through promflux, ends the series at
// the same instant as A instead of letting them linger for 5 minutes.
func TestStalenessEndToEnd(t *testing.T) {
	influx := influxtest.Start(t)
	pf := startPromflux(t, influxConfig(influx.URL(), "e2e"))

	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "# TYPE demo_gauge gauge")
		fmt.Fprintln(w, `demo_gauge{kind="a"} 1.5`)
		fmt.Fprintln(w, `demo_gauge{kind="b"} 2.5`)
	}))
	defer target.Close()
	a := startPrometheus(t, "prometheus A", freeAddr(t), scraperConfig("target", strings.TrimPrefix(target.URL, "http://"), pf.addr))
	b := startPrometheus(t, "prometheus B", freeAddr(t), readerConfig(pf.addr))

	// A few scrapes with the target up, then it goes away: the next scrape
	// fails and A writes stale markers for demo_gauge.
	for deadline := time.Now().Add(30 * time.Second); queryProm(t, a.addr, `count_over_time(demo_gauge{kind="a"}[1m]) >= 4`, time.Now()) == "[]"; {
		if time.Now().After(deadline) {
			t.Fatal("A did not scrape the target 4 times within 30s")
		}
		time.Sleep(500 * time.Millisecond)
	}
	target.Close()
	stoppedAt := time.Now()
	const q = `demo_gauge`
	// A has written the stale markers once an instant query finds nothing.
	var at time.Time
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		at = time.Now().Add(-time.Second)
		if queryProm(t, a.addr, q, at) == "[]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A did not mark demo_gauge stale within 30s of the target's end")
		}
	}

	// Wait until B sees what A sees up to then, stale markers and all.
	deadline := time.Now().Add(60 * time.Second)
	var wantRange, gotRange string
	for {
		wantRange = queryPromRange(t, a.addr, q, at.Add(-30*time.Second), at)
		gotRange = queryPromRange(t, b.addr, q, at.Add(-30*time.Second), at)
		if wantRange == gotRange {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("range query of %s over the last 30s:\nA: %s\nB: %s", q, wantRange, gotRange)
		}
		time.Sleep(time.Second)
	}
	if !strings.Contains(wantRange, "demo_gauge") {
		t.Fatalf("A has no demo_gauge: the comparison proves nothing: %s", wantRange)
	}
	// The series ended: an instant query after the target stopped finds
	// nothing on B either (without stale markers B would still show both
	// series, for up to 5 minutes).
	if got := queryProm(t, b.addr, q, at); got != "[]" {
		t.Errorf("B still shows %s %v after the target stopped: %s", q, at.Sub(stoppedAt).Round(time.Second), got)
	}
}
