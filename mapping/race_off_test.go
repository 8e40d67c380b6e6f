//go:build !race

package mapping

// raceEnabled is true when the race detector is on; it makes sync.Pool drop
// items on purpose, so pooled code paths allocate.
const raceEnabled = false
