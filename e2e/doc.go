// Package e2e holds promflux's end-to-end tests: they build the promflux
// binary of the module root once (with the race detector when the tests
// run with it), and run it against real influxd and prometheus servers,
// each started on free loopback ports, and against the files shipped in
// docker/, docs/ and scripts/.
//
// The package has no code of its own. Under `go test -short` it skips every
// test without building anything. A test that needs prometheus or promtool
// and does not find it on PATH is skipped, unless PROMFLUX_E2E_REQUIRE=1
// (scripts/test.sh sets it), which makes it fail.
package e2e
