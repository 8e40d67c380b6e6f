package influxworker

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// nsSuffix turns a millisecond timestamp into nanoseconds, the default
// precision of InfluxDB's UDP listener, which datagrams cannot change.
const nsSuffix = "000000"

// maxUDPMillis is the largest millisecond timestamp whose nanoseconds fit
// an int64; InfluxDB drops a line beyond it, silently over UDP.
const maxUDPMillis = math.MaxInt64 / 1_000_000

// udpSender holds the socket of a pool with transport: udp.
type udpSender struct {
	addr      string
	payload   int
	datagrams prometheus.Counter

	mu sync.Mutex
	// conn is connected to addr, so that the kernel reports an ICMP port
	// unreachable of an earlier datagram as ECONNREFUSED on a later write:
	// the only sign that the listener is down. nil until the first write.
	conn   net.Conn
	closed bool
}

// connectUDP sets up p for transport: udp. The socket is opened by the
// first write, so that New does no I/O (not even resolving the host).
func (p *Pool) connectUDP() error {
	addr, err := parseUDPAddress(p.cfg.URL)
	if err != nil {
		return err
	}
	payload := p.cfg.UDPPayloadBytes
	if payload == 0 {
		payload = DefaultUDPPayloadBytes
	}
	p.udp = &udpSender{addr: addr, payload: payload}
	return nil
}

// WriteOnly reports whether the pool can only write (transport: udp): its
// requests but Write and Ping fail with a permanent *Error, so the caller
// should not route reads to it.
func (p *Pool) WriteOnly() bool { return p.udp != nil }

// udpRequest answers the HTTP requests of a UDP pool without I/O: a ping
// succeeds (UDP cannot tell whether the listener runs), everything else is
// refused for good.
func (p *Pool) udpRequest(op string) error {
	if op == OpPing {
		return nil
	}
	return &Error{
		Op: op, Name: p.cfg.Name, Permanent: true,
		Message: fmt.Sprintf("database %q is write-only (transport: udp)", p.cfg.Name),
	}
}

// writeUDP packs lines into datagrams of at most udp_payload_bytes and
// hands them to the kernel; nothing acknowledges them. A send error (e.g.
// ECONNREFUSED for an earlier datagram) stops the write with a retryable
// *Error. Lines that cannot go over UDP are skipped and, when everything
// else was sent, reported with a permanent *Error.
func (p *Pool) writeUDP(ctx context.Context, lines []byte) error {
	s := p.udp
	if len(lines) == 0 {
		return nil
	}
	conn, owned, err := s.socket(ctx)
	if err != nil {
		return &Error{Op: OpWrite, Name: p.cfg.Name, Err: err, Message: "cannot open udp socket: " + message(err.Error())}
	}
	if owned {
		defer conn.Close()
	}
	refused, reason, err := packDatagrams(lines, s.payload, func(d []byte, points int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := conn.Write(d); err != nil {
			return err
		}
		s.datagrams.Inc()
		p.metrics.pointsWritten.Add(float64(points))
		return nil
	})
	if err != nil {
		e := &Error{Op: OpWrite, Name: p.cfg.Name, Err: err, Message: message(err.Error())}
		if ctx.Err() != nil {
			e.Err = ctx.Err()
		}
		return e
	}
	if refused > 0 {
		return &Error{
			Op: OpWrite, Name: p.cfg.Name, Permanent: true,
			Message: fmt.Sprintf("%d lines cannot be sent over udp: %s", refused, reason),
		}
	}
	return nil
}

// socket returns the pool's connected socket, opening it on first use.
// Dialling (which resolves the host) happens without the lock, so that a
// slow resolver holds up neither other writes nor close. After close, a
// write gets a socket of its own, which it must close (owned), so that a
// replaced pool leaks no socket.
func (s *udpSender) socket(ctx context.Context) (conn net.Conn, owned bool, err error) {
	s.mu.Lock()
	conn = s.conn
	s.mu.Unlock()
	if conn != nil {
		return conn, false, nil
	}
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.DialContext(ctx, "udp", s.addr)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return c, true, nil
	case s.conn != nil:
		// Another write dialled at the same time and won.
		_ = c.Close()
		return s.conn, false, nil
	}
	s.conn = c
	return c, false, nil
}

// close closes the socket. A write using it at the same time fails with a
// retryable error.
func (s *udpSender) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// packDatagrams cuts lines ('\n'-terminated, each ending with a millisecond
// timestamp) into datagrams of whole lines of at most max bytes, with the
// timestamps turned into nanoseconds, and calls send for each with its
// number of lines. A line longer than max goes in a datagram of its own.
// Empty lines are dropped. Lines that cannot be sent (no timestamp, one
// out of the nanosecond range, longer than MaxUDPPayloadBytes) are counted
// in refused, the first one's reason in reason, and skipped. The first
// error of send stops it. The datagram passed to send is reused afterwards.
func packDatagrams(lines []byte, max int, send func(datagram []byte, points int) error) (refused int, reason string, err error) {
	buf := make([]byte, 0, max)
	points := 0
	for len(lines) > 0 {
		line := lines
		if i := bytes.IndexByte(lines, '\n'); i >= 0 {
			line, lines = lines[:i], lines[i+1:]
		} else {
			lines = nil
		}
		if len(line) == 0 {
			continue
		}
		n := len(line) + len(nsSuffix) + 1
		var why string
		switch {
		case !endsWithMillis(line):
			why = "a line does not end with a millisecond timestamp within the nanosecond range"
		case n > MaxUDPPayloadBytes:
			why = fmt.Sprintf("a line of %d bytes is longer than the largest datagram, %d bytes", n, MaxUDPPayloadBytes)
		}
		if why != "" {
			if refused == 0 {
				reason = why
			}
			refused++
			continue
		}
		if len(buf) > 0 && len(buf)+n > max {
			if err := send(buf, points); err != nil {
				return refused, reason, err
			}
			buf, points = buf[:0], 0
		}
		buf = append(buf, line...)
		buf = append(buf, nsSuffix+"\n"...)
		points++
	}
	if points > 0 {
		if err := send(buf, points); err != nil {
			return refused, reason, err
		}
	}
	return refused, reason, nil
}

// endsWithMillis reports whether the last space-separated token of line is
// an integer whose nanoseconds fit an int64. A line without timestamp ends
// with a field (k=v), never with bare digits.
func endsWithMillis(line []byte) bool {
	sp := bytes.LastIndexByte(line, ' ')
	if sp < 0 {
		return false
	}
	ts := line[sp+1:]
	if len(ts) > 0 && ts[0] == '-' {
		ts = ts[1:]
	}
	if len(ts) == 0 {
		return false
	}
	var v int64
	for _, c := range ts {
		if c < '0' || c > '9' {
			return false
		}
		if v = v*10 + int64(c-'0'); v > maxUDPMillis {
			return false
		}
	}
	return true
}

// parseUDPAddress checks the url of transport: udp and returns its
// host:port.
func parseUDPAddress(raw string) (string, error) {
	u, err := parseURL(raw)
	if err != nil {
		return "", err
	}
	switch {
	case u.Scheme != "udp":
		return "", fmt.Errorf("url %q: scheme must be udp with transport: udp", raw)
	case u.Hostname() == "":
		return "", fmt.Errorf("url %q: host is required", raw)
	case u.Port() == "":
		return "", fmt.Errorf("url %q: port is required, the bind-address of InfluxDB's [[udp]] listener (8089 in its examples)", raw)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("url %q: must not have a path, query or fragment", raw)
	}
	if port, err := strconv.ParseUint(u.Port(), 10, 16); err != nil || port == 0 {
		return "", fmt.Errorf("url %q: port must be 1 to 65535", raw)
	}
	return u.Host, nil
}
