package influxworker

import (
	"errors"
	"io"
	"testing"
)

func TestRequestBody(t *testing.T) {
	rb := &requestBody{b: []byte("m v=1 1\n")}
	first := rb.reader()
	buf := make([]byte, 3)
	if n, err := first.Read(buf); n != 3 || err != nil || string(buf) != "m v" {
		t.Fatalf("Read = %d %v %q", n, err, buf[:n])
	}
	// GetBody starts again from the beginning.
	if b, err := io.ReadAll(rb.reader()); err != nil || string(b) != "m v=1 1\n" {
		t.Fatalf("second reader = %q, %v", b, err)
	}
	rb.release()
	if n, err := first.Read(buf); n != 0 || !errors.Is(err, errBodyReleased) {
		t.Fatalf("Read after release = %d, %v; want errBodyReleased", n, err)
	}
}
