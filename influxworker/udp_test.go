package influxworker

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeUDPListener is a fake of InfluxDB's [[udp]] listener: it collects
// the datagrams sent to a loopback port.
type fakeUDPListener struct {
	conn      net.PacketConn
	datagrams chan []byte
}

func newFakeUDPListener(t *testing.T) *fakeUDPListener {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &fakeUDPListener{conn: conn, datagrams: make(chan []byte, 1024)}
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				close(l.datagrams)
				return
			}
			l.datagrams <- bytes.Clone(buf[:n])
		}
	}()
	t.Cleanup(func() { _ = conn.Close() })
	return l
}

func (l *fakeUDPListener) url() string { return "udp://" + l.conn.LocalAddr().String() }

// receive returns n datagrams, failing the test when they do not come.
func (l *fakeUDPListener) receive(t *testing.T, n int) [][]byte {
	t.Helper()
	var got [][]byte
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case d := <-l.datagrams:
			got = append(got, d)
		case <-timeout:
			t.Fatalf("received %d datagrams, want %d", len(got), n)
		}
	}
	select {
	case d := <-l.datagrams:
		t.Fatalf("unexpected datagram %q", d)
	case <-time.After(50 * time.Millisecond):
	}
	return got
}

func newUDPPool(t *testing.T, url string, payload int, m *Metrics) *Pool {
	t.Helper()
	cfg := Config{Name: "udp", URL: url, Transport: TransportUDP, UDPPayloadBytes: payload, Pool: DefaultPoolConfig}
	p, err := New(cfg, nil, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestUDPWrite(t *testing.T) {
	const payload = 200
	l := newFakeUDPListener(t)
	m := NewMetrics(prometheus.NewRegistry())
	p := newUDPPool(t, l.url(), payload, m)

	var in bytes.Buffer
	var want []string
	for i := range 40 {
		// Lines of 20 to about 100 bytes, and one longer than a datagram.
		line := fmt.Sprintf("m%d,job=j%s value=%d %d", i, strings.Repeat("x", i*2), i, 1700000000000+int64(i))
		if i == 17 {
			line = fmt.Sprintf("long,tag=%s value=1 -1700000000000", strings.Repeat("y", 2*payload))
		}
		in.WriteString(line + "\n")
		// The timestamp ends the line: nanoseconds are the line and six 0s.
		want = append(want, line+"000000")
	}
	if err := p.Write(context.Background(), in.Bytes()); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	n := int(testutil.ToFloat64(m.udpDatagrams.WithLabelValues("udp")))
	if n < 2 {
		t.Fatalf("%d datagrams counted, want several", n)
	}
	var got []string
	for _, d := range l.receive(t, n) {
		if !bytes.HasSuffix(d, []byte("\n")) {
			t.Fatalf("datagram does not end with a whole line: %q", d)
		}
		lines := strings.Split(strings.TrimSuffix(string(d), "\n"), "\n")
		if len(d) > payload && len(lines) != 1 {
			t.Fatalf("datagram of %d bytes > %d holds %d lines", len(d), payload, len(lines))
		}
		got = append(got, lines...)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("received lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if pts := testutil.ToFloat64(m.pointsWritten.WithLabelValues("udp")); pts != 40 {
		t.Fatalf("points written %v, want 40", pts)
	}
}

func TestUDPWriteRefusesLines(t *testing.T) {
	l := newFakeUDPListener(t)
	m := NewMetrics(prometheus.NewRegistry())
	p := newUDPPool(t, l.url(), 0, m)
	in := "ok value=1 1000\n" +
		"notime value=1\n" +
		"ok value=2 2000\n" +
		"big,t=" + strings.Repeat("z", MaxUDPPayloadBytes) + " value=1 3000\n" +
		"overflow value=1 9223372036855\n"
	err := p.Write(context.Background(), []byte(in))
	const wantErr = `influxdb "udp": write: 3 lines cannot be sent over udp: a line does not end with a millisecond timestamp within the nanosecond range`
	if err == nil || err.Error() != wantErr || !IsPermanent(err) {
		t.Fatalf("Write() = %v, want permanent %s", err, wantErr)
	}
	got := l.receive(t, 1)
	if want := "ok value=1 1000000000\nok value=2 2000000000\n"; string(got[0]) != want {
		t.Fatalf("datagram %q, want %q", got[0], want)
	}
	if r := testutil.ToFloat64(m.writeErrors.WithLabelValues("udp", ReasonRejected)); r != 1 {
		t.Fatalf("rejected writes %v, want 1", r)
	}
}

func TestUDPWriteOnly(t *testing.T) {
	p := newUDPPool(t, "udp://127.0.0.1:8089", 0, nil)
	if !p.WriteOnly() {
		t.Fatal("WriteOnly() = false for transport: udp")
	}
	ctx := context.Background()
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping() = %v, want nil", err)
	}
	_, qerr := p.Query(ctx, "SHOW DATABASES")
	_, perr := p.Post(ctx, "CREATE DATABASE x")
	serr := p.QueryStream(ctx, "SELECT 1", func(*SeriesChunk) error { t.Fatal("called"); return nil })
	eerr := p.EnsureDatabase(ctx)
	for op, err := range map[string]error{OpQuery: qerr, OpPost: perr, OpQueryStream: serr, OpCreateDatabase: eerr} {
		want := `influxdb "udp": ` + op + `: database "udp" is write-only (transport: udp)`
		if err == nil || err.Error() != want || !IsPermanent(err) {
			t.Errorf("%s: %v, want permanent %s", op, err, want)
		}
	}

	http := newTestPool(t, "http://127.0.0.1:8086", nil, nil)
	if http.WriteOnly() {
		t.Fatal("WriteOnly() = true for transport: http")
	}
}

func TestUDPWriteRefusedIsRetryable(t *testing.T) {
	// A port nothing listens on: the kernel answers the first datagram with
	// ICMP port unreachable and reports it on a later write.
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "udp://" + l.LocalAddr().String()
	_ = l.Close()
	p := newUDPPool(t, url, 0, nil)
	for range 50 {
		err = p.Write(context.Background(), []byte("m value=1 1\n"))
		if err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err == nil {
		t.Fatal("no write failed")
	}
	if IsPermanent(err) || Reason(err) != ReasonUnavailable || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Write() = %v, want a retryable connection refused", err)
	}
}

func TestUDPWriteAfterClose(t *testing.T) {
	l := newFakeUDPListener(t)
	p := newUDPPool(t, l.url(), 0, nil)
	ctx := context.Background()
	if err := p.Write(ctx, []byte("a value=1 1\n")); err != nil {
		t.Fatal(err)
	}
	p.Close()
	// A write that was still on its way when a reload replaced the pool.
	if err := p.Write(ctx, []byte("b value=1 2\n")); err != nil {
		t.Fatalf("Write() after Close = %v", err)
	}
	got := l.receive(t, 2)
	if string(got[0]) != "a value=1 1000000\n" || string(got[1]) != "b value=1 2000000\n" {
		t.Fatalf("datagrams %q", got)
	}
}

// FuzzPackDatagrams checks that packing keeps every sendable line once, in
// order, whole and converted to nanoseconds, and never sends more than max
// bytes but for a single line.
func FuzzPackDatagrams(f *testing.F) {
	f.Add([]byte("m v=1 1\nm v=2 2\n"), 16)
	f.Add([]byte("a,t=x v=1 -5\n\nnotime v=1\nb v=\"s 1\" 123"), 10)
	f.Add([]byte(strings.Repeat("cpu,host=h value=0.5 1700000000000\n", 50)), 1400)
	f.Fuzz(func(t *testing.T, lines []byte, max int) {
		if max <= 0 || max > MaxUDPPayloadBytes {
			return
		}
		var want []string
		refusable := 0
		for _, line := range strings.Split(string(lines), "\n") {
			switch {
			case line == "":
			case endsWithMillis([]byte(line)) && len(line)+len(nsSuffix)+1 <= MaxUDPPayloadBytes:
				want = append(want, line+nsSuffix)
			default:
				refusable++
			}
		}
		var got []string
		refused, reason, err := packDatagrams(lines, max, func(d []byte, points int) error {
			if d[len(d)-1] != '\n' {
				t.Fatalf("datagram %q does not end with a newline", d)
			}
			ls := strings.Split(string(d[:len(d)-1]), "\n")
			if len(ls) != points {
				t.Fatalf("datagram %q has %d lines, send was told %d", d, len(ls), points)
			}
			if len(d) > max && points != 1 {
				t.Fatalf("datagram of %d bytes > %d holds %d lines", len(d), max, points)
			}
			got = append(got, ls...)
			return nil
		})
		if err != nil || refused != refusable || (refused > 0) != (reason != "") {
			t.Fatalf("refused %d (%q), err %v, want %d refused", refused, reason, err, refusable)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("sent %q, want %q", got, want)
		}
	})
}

func BenchmarkPackDatagrams(b *testing.B) {
	var in bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&in, "node_cpu_seconds_total,cpu=%d,instance=host:9100,job=node,mode=idle value=%d.5 17000000%05d\n", i%8, i, i)
	}
	lines := in.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(lines)))
	for b.Loop() {
		if _, _, err := packDatagrams(lines, DefaultUDPPayloadBytes, func([]byte, int) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
