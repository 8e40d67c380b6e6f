//go:build !race

package e2e

// raceEnabled is true when the tests run with the race detector: the
// promflux binary they run is then built with it too.
const raceEnabled = false
