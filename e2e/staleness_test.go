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
	for deadline := time.Now().Add(30 * time.Second); queryProm(t, a.addr, "count_over_time(demo_gauge[1m])", time.Now()) == "[]"; {
		if time.Now().After(deadline) {
			t.Fatal("A did not scrape the target within 30s")
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	target.Close()
	stoppedAt := time.Now()
	time.Sleep(5 * time.Second)
	at := time.Now().Add(-time.Second)

	// Wait until B sees what A sees for the last minute, stale markers and all.
	const q = `demo_gauge`
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
	// nothing on either server (without stale markers B would still show
	// both series, for up to 5 minutes).
	for name, addr := range map[string]string{"A": a.addr, "B": b.addr} {
		if got := queryProm(t, addr, q, at); got != "[]" {
			t.Errorf("%s still shows %s %v after the target stopped: %s", name, q, at.Sub(stoppedAt).Round(time.Second), got)
		}
	}
}
