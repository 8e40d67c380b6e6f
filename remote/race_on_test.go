//go:build race

package remote

// raceEnabled: the race detector makes sync.Pool drop a share of what is
// put into it on purpose, so tests of pooled allocations cannot hold.
const raceEnabled = true
