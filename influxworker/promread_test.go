package influxworker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestStorageReadVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"1.6.7~rc0":      true,
		"1.5.0":          true,
		"1.8.10-c1.8.10": true, // Enterprise
		"v1.11.8":        true,
		"1.4.3":          false, // its endpoint runs InfluxQL
		"1.x":            false,
		"2.7.1":          false,
		"v2.7.4":         false,
		"3.0.0":          false,
		"":               false,
		"1":              false,
	} {
		if got := storageReadVersion(v); got != want {
			t.Errorf("storageReadVersion(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestPromReadable: read_endpoint decides, and auto follows the version
// the server sent, until the endpoint answers 404. The server is a fake
// that answers with chosen headers; reads from the real one are tested in
// adapter.
func TestPromReadable(t *testing.T) {
	var version atomic.Value
	version.Store("1.6.7")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Influxdb-Version", version.Load().(string))
		switch r.URL.Path {
		case "/api/v1/prom/read":
			if r.URL.Query().Get("db") != "d" || r.URL.Query().Get("rp") != "week" || r.Header.Get("Content-Encoding") != "snappy" {
				http.Error(w, "bad request "+r.URL.String(), http.StatusBadRequest)
				return
			}
			http.NotFound(w, r)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	pool := func(endpoint string) *Pool {
		p, err := New(Config{Name: "n", URL: srv.URL, Database: "d", RetentionPolicy: "week", ReadEndpoint: endpoint, Pool: DefaultPoolConfig}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	auto := pool("")
	if auto.PromReadable() {
		t.Error("auto before any answer: readable, want not: the server is unknown")
	}
	if err := auto.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !auto.PromReadable() {
		t.Error("auto after InfluxDB 1.6 answered: not readable")
	}
	err := auto.PromRead(context.Background(), []byte("x"), func(io.Reader) error { return nil })
	if !errors.Is(err, ErrNoPromRead) {
		t.Errorf("PromRead on a 404: %v, want ErrNoPromRead", err)
	}
	if auto.PromReadable() {
		t.Error("auto after a 404: readable")
	}

	version.Store("2.7.1")
	v2 := pool(ReadAuto)
	if err := v2.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v2.PromReadable() {
		t.Error("auto with InfluxDB 2.7: readable")
	}
	if !pool(ReadPromRead).PromReadable() {
		t.Error("prom_read: not readable")
	}
	q := pool(ReadQuery)
	if err := q.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if q.PromReadable() {
		t.Error("query: readable")
	}
}
