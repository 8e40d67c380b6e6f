package main

import (
	"fmt"
	"testing"
)

// TestGeneratorSeriesAreDistinct: every index is its own series, so that
// "--series N" loads N series and reads find N.
func TestGeneratorSeriesAreDistinct(t *testing.T) {
	for _, extra := range []int{0, 3} {
		g := generator{series: 20000, labelsExtra: extra}
		seen := map[string]int{}
		for i := 0; i < g.series; i++ {
			k := fmt.Sprint(g.labels(i))
			if j, dup := seen[k]; dup {
				t.Fatalf("extra=%d: series %d and %d are both %s", extra, j, i, k)
			}
			seen[k] = i
		}
	}
}
