package promapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/common/version"
)

// engineRelease is the Prometheus release whose PromQL engine and query
// API promflux embeds: that of the github.com/prometheus/prometheus module
// in go.mod (a test holds them together).
const engineRelease = "3.16.0"

// BuildInfo serves /api/v1/status/buildinfo: Prometheus's fields, with
// the release of the query API and PromQL engine that answer as version
// (clients such as Grafana's Prometheus data source read it to choose the
// requests they send), and promflux's own build in the others and in
// application and promfluxVersion.
func (a *API) BuildInfo(w http.ResponseWriter, r *http.Request) {
	b := append(a.dataPrefix(), `{"version":`...)
	b = appendString(b, engineRelease)
	for _, f := range [][2]string{
		{"revision", version.Revision}, {"branch", version.Branch}, {"buildUser", version.BuildUser},
		{"buildDate", version.BuildDate}, {"goVersion", version.GoVersion},
		{"application", "promflux"}, {"promfluxVersion", version.Version},
	} {
		b = append(b, ',')
		b = appendString(b, f[0])
		b = append(b, ':')
		b = appendString(b, f[1])
	}
	a.respond(w, r, append(b, '}'), nil)
}

// releaseOf maps a version of the Prometheus Go module to the release it
// is: v0.54.1 is Prometheus 2.54.1, v0.316.0 is 3.16.0 (minor versions
// from 300 on are 3.x). The test of engineRelease uses it.
func releaseOf(module string) (string, error) {
	rest, ok := strings.CutPrefix(module, "v0.")
	if !ok {
		return "", fmt.Errorf("not a Prometheus module version: %q", module)
	}
	minorStr, patch, ok := strings.Cut(rest, ".")
	minor, err := strconv.Atoi(minorStr)
	if !ok || err != nil {
		return "", fmt.Errorf("not a Prometheus module version: %q", module)
	}
	if minor >= 300 {
		return fmt.Sprintf("%d.%d.%s", minor/100, minor%100, patch), nil
	}
	return fmt.Sprintf("2.%d.%s", minor, patch), nil
}
