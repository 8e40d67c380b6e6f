// Package influxtest runs a throwaway InfluxDB 1.x server (influxd) for
// integration tests of any promflux package.
//
// It owns the lifecycle of one influxd process per test: free loopback ports,
// a private configuration and data directory under t.TempDir(), readiness
// waiting, stop/kill/restart/pause for failure tests and cleanup. It talks to
// InfluxDB with plain net/http so that it does not depend on the code under
// test, and it must not know Prometheus.
//
// Start skips the test when testing.Short() is set, so `go test -short`
// runs only the unit tests.
package influxtest
