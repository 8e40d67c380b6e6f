package remote

import (
	"net/http"
	"testing"
)

func TestSetWrittenHeaders(t *testing.T) {
	h := http.Header{}
	h.Set(HeaderSamplesWritten, "99")
	SetWrittenHeaders(h, 2000, 3, 0)
	for name, want := range map[string]string{
		"X-Prometheus-Remote-Write-Samples-Written":    "2000",
		"X-Prometheus-Remote-Write-Histograms-Written": "3",
		"X-Prometheus-Remote-Write-Exemplars-Written":  "0",
	} {
		if got := h.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want [%q]", name, got, want)
		}
	}
}
