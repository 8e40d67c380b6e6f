package mapping

import (
	"math"
	"strconv"
	"testing"
)

// TestAppendIntSameAsStrconv compares appendInt and appendUint with strconv
// at every power of ten and its neighbours, the ends of the ranges, and
// with a destination that has room, none, or a little.
func TestAppendIntSameAsStrconv(t *testing.T) {
	vals := []int64{0, 1, -1, 9, 10, 11, 99, 100, 101, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1700000000000}
	for p := int64(1); p <= math.MaxInt64/10; p *= 10 {
		vals = append(vals, p-1, p, p+1, -p+1, -p, -p-1, 10*p-1)
	}
	for _, v := range vals {
		for _, dst := range [][]byte{nil, []byte("x="), make([]byte, 2, 64), make([]byte, 2, 5)} {
			want := strconv.AppendInt(append([]byte(nil), dst...), v, 10)
			if got := appendInt(dst, v); string(got) != string(want) {
				t.Fatalf("appendInt(%q, %d) = %q, want %q", dst, v, got, want)
			}
		}
	}
	for _, u := range []uint64{0, 1, 9, 10, math.MaxUint64, math.MaxUint64 - 1, 1e19 - 1, 1e19, 1e19 + 1, 1 << 63} {
		if got, want := appendUint(nil, u), strconv.AppendUint(nil, u, 10); string(got) != string(want) {
			t.Fatalf("appendUint(%d) = %q, want %q", u, got, want)
		}
	}
}

func FuzzAppendInt(f *testing.F) {
	for _, v := range []int64{0, -1, 1700000000000, math.MinInt64, math.MaxInt64} {
		f.Add(v, uint64(v))
	}
	f.Fuzz(func(t *testing.T, v int64, u uint64) {
		if got, want := appendInt([]byte("a"), v), strconv.AppendInt([]byte("a"), v, 10); string(got) != string(want) {
			t.Fatalf("appendInt(%d) = %q, want %q", v, got, want)
		}
		if got, want := appendUint(nil, u), strconv.AppendUint(nil, u, 10); string(got) != string(want) {
			t.Fatalf("appendUint(%d) = %q, want %q", u, got, want)
		}
	})
}
