package influxtest

import (
	"fmt"
	"os"
	"path/filepath"
)

// configTemplate is an influxd 1.x configuration reduced to what a test
// needs: loopback listeners only, no usage reporting, no background services
// (monitor store, continuous queries, retention enforcement, shard
// precreation) that would write to the data directory or the log while a
// test inspects them, and quiet request/query logging so that the log tail
// printed on failure shows startup problems rather than traffic.
const configTemplate = `reporting-disabled = true
bind-address = %q

[meta]
  dir = %q
  logging-enabled = false

[data]
  dir = %q
  wal-dir = %q
  index-version = "inmem"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[http]
  enabled = true
  bind-address = %q
  auth-enabled = false
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false

[logging]
  level = "info"
  suppress-logo = true
`

// writeConfig writes the influxd configuration for the given listen
// addresses into dir and returns its path. Data lives in dir as well so that
// a restarted server finds the same databases.
func writeConfig(dir, httpAddr, rpcAddr string) (string, error) {
	content := fmt.Sprintf(configTemplate,
		rpcAddr,
		filepath.Join(dir, "meta"),
		filepath.Join(dir, "data"),
		filepath.Join(dir, "wal"),
		httpAddr,
	)
	path := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return "", fmt.Errorf("cannot write influxd config %s: %w", path, err)
	}
	return path, nil
}
