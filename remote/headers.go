package remote

import (
	"net/http"
	"strconv"
)

// Response headers a Remote-Write 2.0 receiver must set on every response,
// success or failure, with the number of items it actually stored. Senders
// use them to detect partial writes. Remote-Write 1.0 responses carry none.
const (
	HeaderSamplesWritten    = "X-Prometheus-Remote-Write-Samples-Written"
	HeaderHistogramsWritten = "X-Prometheus-Remote-Write-Histograms-Written"
	HeaderExemplarsWritten  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

// SetWrittenHeaders sets the three X-Prometheus-Remote-Write-*-Written headers
// on h, replacing earlier values. Call it for Remote-Write 2.0 requests only,
// before the status code is written.
func SetWrittenHeaders(h http.Header, samples, histograms, exemplars int) {
	h.Set(HeaderSamplesWritten, strconv.Itoa(samples))
	h.Set(HeaderHistogramsWritten, strconv.Itoa(histograms))
	h.Set(HeaderExemplarsWritten, strconv.Itoa(exemplars))
}
