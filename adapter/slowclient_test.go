package adapter

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/prompb"
)

// serve serves srv as promflux's binary does (HTTPServer) on a loopback
// port and returns its address.
func serve(t *testing.T, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer()
	go func() { _ = hs.Serve(l) }()
	t.Cleanup(func() { hs.Close() })
	return l.Addr().String()
}

// trickle opens a connection to addr and sends the header section of a
// POST to path announcing a body of size bytes, and then the first byte of
// the body. The test sends the rest with trickle's returned connection.
func trickle(t *testing.T, addr, path string, size int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: promflux\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nContent-Length: %d\r\n\r\nx", path, size)
	return c
}

// readAnswer reads the HTTP answer on c, failing the test if none comes
// within a generous bound.
func readAnswer(t *testing.T, c net.Conn) (int, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// TestSlowSendersHoldNoWriteSlot: requests whose bodies trickle in, as many
// as there are write slots and more, do not keep a whole request from being
// decoded and stored at once: a request takes its turn only once its body
// has arrived.
func TestSlowSendersHoldNoWriteSlot(t *testing.T) {
	fake := newFakeInflux(t)
	srv, _ := startAdapter(t, fakeConfig(fake.URL)+"write: {max_concurrency: 1, max_wait: 1s}\n")
	addr := serve(t, srv)
	for range 4 {
		trickle(t, addr, "/api/v1/write", 1000)
	}
	r := writeV1(t, "http://"+addr+"/api/v1/write", upSample)
	if r.status != http.StatusNoContent {
		t.Fatalf("write while 4 senders trickle: status %d (%s), want 204", r.status, r.body)
	}
	if got := fake.written(); len(got) != 1 || got[0] != "up,job=x value=1 1000" {
		t.Errorf("InfluxDB got %q", got)
	}
}

// TestSlowBodyCut: a body that arrives slower than limits.body_timeout and
// limits.min_body_rate allow is cut with a 503 saying so (the sender may
// be on a slow link: it may send again), counted in
// promflux_request_bodies_too_slow_total, on writes and reads.
func TestSlowBodyCut(t *testing.T) {
	fake := newFakeInflux(t)
	srv, _ := startAdapter(t, strings.Replace(fakeConfig(fake.URL), "limits: {", "limits: {body_timeout: 300ms, min_body_rate: 1KiB, ", 1))
	addr := serve(t, srv)
	for i, path := range []string{"/api/v1/write", "/api/v1/read"} {
		c := trickle(t, addr, path, 1000)
		// One more byte now and then: the connection never stalls, the
		// rate is what is too low.
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		}()
		status, body := readAnswer(t, c)
		close(done)
		if status != http.StatusServiceUnavailable || !strings.Contains(body, "request body arrived too slowly and was cut") ||
			!strings.Contains(body, "limits.min_body_rate") {
			t.Errorf("%s: trickled body answered %d %q, want 503 saying it was too slow", path, status, body)
		}
		if n := testutil.ToFloat64(srv.metrics.bodiesTooSlow); n != float64(i+1) {
			t.Errorf("%s: promflux_request_bodies_too_slow_total = %v, want %d", path, n, i+1)
		}
	}
}

// TestSlowBodyAtTheRateArrives: a body that takes longer than
// limits.body_timeout but arrives faster than limits.min_body_rate is
// stored.
func TestSlowBodyAtTheRateArrives(t *testing.T) {
	fake := newFakeInflux(t)
	srv, _ := startAdapter(t, strings.Replace(fakeConfig(fake.URL), "limits: {", "limits: {body_timeout: 200ms, min_body_rate: 100B, ", 1))
	addr := serve(t, srv)
	body := writeV1Body(t, series("slow", []string{"job", "x"}, prompb.Sample{Value: 1, Timestamp: 1000}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/v1/write HTTP/1.1\r\nHost: promflux\r\nContent-Type: %s\r\nContent-Encoding: snappy\r\nContent-Length: %d\r\n\r\n", contentTypeV1, len(body))
	// 10 bytes every 50 ms, twice the least rate, for longer than
	// body_timeout.
	for i := 0; i < len(body); i += 10 {
		time.Sleep(50 * time.Millisecond)
		if _, err := c.Write(body[i:min(i+10, len(body))]); err != nil {
			t.Fatal(err)
		}
	}
	if status, answer := readAnswer(t, c); status != http.StatusNoContent {
		t.Fatalf("body at twice the least rate: %d %q, want 204", status, answer)
	}
	if got := fake.written(); len(got) != 1 || got[0] != "slow,job=x value=1 1000" {
		t.Errorf("InfluxDB got %q", got)
	}
}

// TestSlowHeaderCut: a connection whose header section does not arrive
// within the header timeout is closed and counted in
// promflux_request_headers_cut_total; open connections are counted in
// promflux_http_connections_open.
func TestSlowHeaderCut(t *testing.T) {
	defer func(d time.Duration) { headerTimeout = d }(headerTimeout)
	headerTimeout = 200 * time.Millisecond
	fake := newFakeInflux(t)
	srv, _ := startAdapter(t, fakeConfig(fake.URL))
	addr := serve(t, srv)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "POST /api/v1/write HTTP/1.1\r\nHost: promflux\r\n")
	waitFor(t, 5*time.Second, "the connection to be open", func() bool { return testutil.ToFloat64(srv.metrics.connsOpen) == 1 })
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection with a stalled header section: read %d bytes, %v; want it closed", n, err)
	}
	waitFor(t, 5*time.Second, "the cut to be counted", func() bool { return testutil.ToFloat64(srv.metrics.headersCut) == 1 })
	waitFor(t, 5*time.Second, "the connection to be closed", func() bool { return testutil.ToFloat64(srv.metrics.connsOpen) == 0 })

	// A whole request is not counted.
	if r := writeV1(t, "http://"+addr+"/api/v1/write", upSample); r.status != http.StatusNoContent {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
	if n := testutil.ToFloat64(srv.metrics.headersCut); n != 1 {
		t.Errorf("promflux_request_headers_cut_total = %v after a whole request, want 1", n)
	}
}
