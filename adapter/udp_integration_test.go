package adapter

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// fakeUDPListener stands in for InfluxDB's [[udp]] listener: it hands the
// datagrams it receives to the test. The listener's own behaviour is not
// modelled; influxworker's tests cover the datagram format.
func fakeUDPListener(t *testing.T) (net.PacketConn, <-chan string) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	got := make(chan string, 64)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()
	return conn, got
}

// TestIntegrationUDPDatabase: a route to a transport: udp database sends its
// series as datagrams and answers 204 at once; reads skip the write-only
// database, and a read that only it could answer, or ?db= naming it, is a
// 400.
func TestIntegrationUDPDatabase(t *testing.T) {
	influx := influxtest.Start(t)
	udp, datagrams := fakeUDPListener(t)
	config := fmt.Sprintf(`databases:
  - {name: prom, url: %q, database: prom, create_database: true}
  - {name: fire, url: "udp://%s", transport: udp}
default_database: prom
routes:
  - {match: '{job="udp"}', database: fire}
`, influx.URL(), udp.LocalAddr())
	_, ts := startAdapter(t, config)

	viaHTTP := series("load", []string{"job", "http"}, prompb.Sample{Value: 1, Timestamp: 1000})
	viaUDP := series("load", []string{"job", "udp"}, prompb.Sample{Value: 2, Timestamp: 2000})
	if r := writeV1(t, ts.URL+"/api/v1/write", viaHTTP, viaUDP); r.status != http.StatusNoContent {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
	select {
	case d := <-datagrams:
		// Timestamps go out in nanoseconds, the listener's default
		// precision.
		if want := "load,job=udp value=2 2000000000\n"; d != want {
			t.Errorf("datagram %q, want %q", d, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no datagram within 5s")
	}
	compareStored(t, readBack(t, influx, "prom", "load"), wantStored(viaHTTP))

	r := read(t, ts.URL+"/api/v1/read", samplesOnly, query(t, `load`, 0, 10_000))
	if r.status != http.StatusOK {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	if diff := sameSeries(r.results[0], expect(t, []prompb.TimeSeries{viaHTTP}, `load`, 0, 10_000)); diff != "" {
		t.Errorf("read skipping the udp database: %s", diff)
	}
	r = read(t, ts.URL+"/api/v1/read?db=fire", samplesOnly, query(t, `load`, 0, 10_000))
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "write-only") {
		t.Errorf("read ?db=fire: %d %q, want 400 saying write-only", r.status, r.body)
	}
	// The routes send {job="udp"} only to the udp database: nothing can
	// answer, which must not look like an empty result.
	r = read(t, ts.URL+"/api/v1/read", samplesOnly, query(t, `load{job="udp"}`, 0, 10_000))
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "write-only") || !strings.Contains(r.body, "fire") {
		t.Errorf("read of series only the udp database holds: %d %q, want 400 naming it write-only", r.status, r.body)
	}
}
