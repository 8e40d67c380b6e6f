package remote

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// TestLimitBodyRateWithoutBody: a request without a body (a GET of the
// query API) keeps its context for as long as its handler runs, past
// limits.body_timeout: no read deadline is set on a connection that
// net/http already reads ahead on.
func TestLimitBodyRateWithoutBody(t *testing.T) {
	cfg := DefaultConfig
	cfg.BodyTimeout = model.Duration(50 * time.Millisecond)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		LimitBodyRate(w, r, cfg)
		select {
		case <-r.Context().Done():
			http.Error(w, "context ended: "+r.Context().Err().Error(), http.StatusInternalServerError)
		case <-time.After(300 * time.Millisecond):
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d: the request's context ended while its handler ran", resp.StatusCode)
	}
}

// TestLimitBodyRateCutsTrickle: a body that stops arriving is cut with
// ErrTooSlow once limits.body_timeout passes.
func TestLimitBodyRateCutsTrickle(t *testing.T) {
	cfg := DefaultConfig
	cfg.BodyTimeout = model.Duration(100 * time.Millisecond)
	got := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		LimitBodyRate(w, r, cfg)
		_, err := ReadWriteBody(r, cfg)
		got <- err
	}))
	defer srv.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = http.Post(srv.URL, ContentTypeWriteV1, pr) }()
	_, _ = pw.Write([]byte("x"))
	select {
	case err := <-got:
		assertKind(t, err, ErrTooSlow)
		if !strings.Contains(err.Error(), "request body arrived too slowly and was cut: 1 bytes in") {
			t.Errorf("error %q", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stalled body was not cut")
	}
}
