package mapping

import (
	"fmt"
	"math"
)

// specialFieldKey is the name of the float field that holds a sample whose
// value InfluxDB 1.x cannot store as a float (NaN, including Prometheus
// stale markers, and ±Inf), as the code specialCode returns.
const specialFieldKey = "special"

const (
	signBit      = 1 << 63
	exponentBits = 0x7ff << 52
	mantissaBits = 1<<52 - 1

	// maxSpecialCode is the largest code: a mantissa of all ones plus one.
	maxSpecialCode = 1 << 52
)

// specialCode returns the code under which a NaN or infinite sample value is
// stored in the field specialFieldKey, and ok=false for a finite value.
//
// The code is s*(m+1), with m the 52-bit mantissa of the float64 bits and s
// -1 if the sign bit is set, +1 otherwise. Every NaN and infinity has an
// all-ones exponent, so the code keeps every bit: +Inf is 1, -Inf is -1,
// the Prometheus stale marker (0x7ff0000000000002) is 3 and Prometheus's
// NaN (0x7ff8000000000001) is 2251799813685250. m+1 is at most 2^52, which
// a float64 holds exactly.
func specialCode(v float64) (code float64, ok bool) {
	bits := math.Float64bits(v)
	if bits&exponentBits != exponentBits {
		return 0, false
	}
	code = float64(bits&mantissaBits + 1)
	if bits&signBit != 0 {
		code = -code
	}
	return code, true
}

// SpecialValue returns the NaN or infinite value stored as code, bit for
// bit as it was written; it is the inverse of specialCode. It returns an
// error for a code that specialCode never returns: 0, a non-integer, a
// magnitude above 2^52, NaN or ±Inf.
func SpecialValue(code float64) (float64, error) {
	mag := math.Abs(code)
	// The comparisons are false for NaN, so NaN fails here too.
	if !(mag >= 1 && mag <= maxSpecialCode && mag == math.Trunc(mag)) {
		return 0, fmt.Errorf("invalid %q field value %v: not an integer in [-2^52, -1] or [1, 2^52]", specialFieldKey, code)
	}
	bits := uint64(exponentBits) | (uint64(mag) - 1)
	if math.Signbit(code) {
		bits |= signBit
	}
	return math.Float64frombits(bits), nil
}
