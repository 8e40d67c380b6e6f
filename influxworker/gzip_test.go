package influxworker

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// readBody returns the body of a request to a fake InfluxDB, decompressed
// when it was sent with Content-Encoding: gzip.
func readBody(r *http.Request) ([]byte, error) {
	if r.Header.Get("Content-Encoding") != "gzip" {
		return io.ReadAll(r.Body)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func TestWriteGzip(t *testing.T) {
	const lines = "up,instance=a:9100,job=node value=1 1700000000123\nup,instance=b:9100,job=node value=0 1700000000123\n"
	for _, tc := range []struct {
		name    string
		gzip    *bool
		version string
		// wantEncodings are the Content-Encodings of two writes: the first
		// one goes plain because no answer identified InfluxDB yet.
		wantEncodings []string
	}{
		{"gzip", new(true), "1.6.7", []string{"", "gzip"}},
		{"gzip off", new(false), "1.6.7", []string{"", ""}},
		{"not influxdb", new(true), "", []string{"", ""}},
		{"unset, loopback", nil, "1.6.7", []string{"", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var encodings []string
			fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.version != "" {
					w.Header().Set(versionHeader, tc.version)
				}
				encodings = append(encodings, r.Header.Get("Content-Encoding"))
				var got []byte
				if r.Header.Get("Content-Encoding") == "gzip" {
					zr, err := gzip.NewReader(r.Body)
					if err != nil {
						http.Error(w, err.Error(), http.StatusBadRequest)
						return
					}
					got, _ = io.ReadAll(zr)
				} else {
					got, _ = io.ReadAll(r.Body)
				}
				if ct := r.Header.Get("Content-Type"); string(got) != lines || ct != writeContentType {
					http.Error(w, fmt.Sprintf("fake got body %q, Content-Type %q", got, ct), http.StatusBadRequest)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer fake.Close()
			p := newTestPool(t, fake.URL, nil, func(c *Config) { c.Pool.Gzip = tc.gzip })
			for range 2 {
				if err := p.Write(context.Background(), []byte(lines)); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(encodings, tc.wantEncodings) {
				t.Fatalf("Content-Encodings %q, want %q", encodings, tc.wantEncodings)
			}
		})
	}
}

func TestGzipFor(t *testing.T) {
	for _, tc := range []struct {
		url  string
		set  *bool
		want bool
	}{
		{"http://localhost:8086", nil, false},
		{"http://LocalHost:8086", nil, false},
		{"http://127.0.0.1:8086", nil, false},
		{"http://127.3.2.1", nil, false},
		{"https://[::1]:8086/prefix", nil, false},
		{"http://influxdb:8086", nil, true},
		{"http://10.0.0.7:8086", nil, true},
		{"http://[2001:db8::1]:8086", nil, true},
		{"http://localhost.example.org", nil, true},
		{"http://127.0.0.1:8086", new(true), true},
		{"http://influxdb:8086", new(false), false},
	} {
		if got := gzipFor(tc.set, tc.url); got != tc.want {
			t.Errorf("gzipFor(%v, %s) = %v, want %v", tc.set, tc.url, got, tc.want)
		}
	}
}

func FuzzCompress(f *testing.F) {
	f.Add([]byte("m,k=v f=1 1\n"))
	f.Add([]byte(""))
	f.Add(bytes.Repeat([]byte{0, 0xff}, 5000))
	f.Fuzz(func(t *testing.T, b []byte) {
		buf, err := compress(b)
		if err != nil {
			t.Fatal(err)
		}
		defer releaseBuffer(buf)
		zr, err := gzip.NewReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip = %q, %v; want %q", got, err, b)
		}
	})
}

// realisticLines is line protocol as mapping produces it for node_exporter:
// long measurement and tag names repeated on every line, varying values.
func realisticLines(n int) []byte {
	var buf bytes.Buffer
	modes := []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}
	for i := range n {
		fmt.Fprintf(&buf, "node_cpu_seconds_total,cpu=%d,instance=node-%02d.example.com:9100,job=node,mode=%s value=%d.%02d %d\n",
			i%16, i/128%40, modes[i%len(modes)], 100000+i*37, i%100, 1700000000000+int64(i/1024)*15000)
	}
	return buf.Bytes()
}

// BenchmarkCompress compresses a large remote-write request with compress
// and, for comparison, with the standard library's fastest level.
func BenchmarkCompress(b *testing.B) {
	body := realisticLines(20000) // about 2MB, a large remote-write request
	report := func(b *testing.B, compressed int) {
		b.ReportMetric(float64(len(body))/float64(compressed), "ratio")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/20000, "ns/line")
	}
	b.Run("compress", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var compressed int
		for b.Loop() {
			buf, err := compress(body)
			if err != nil {
				b.Fatal(err)
			}
			compressed = buf.Len()
			releaseBuffer(buf)
		}
		report(b, compressed)
	})
	b.Run("stdlib-BestSpeed", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		for b.Loop() {
			buf.Reset()
			w.Reset(&buf)
			if _, err := w.Write(body); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		report(b, buf.Len())
	})
}
