package mapping

import "math/bits"

// appendInt appends v in decimal, as strconv.AppendInt(dst, v, 10) does,
// but writes the digits in place, two at a time: the copy strconv makes
// from a scratch array was a tenth of the encoding time, with a timestamp
// on every line.
func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		return appendUint(append(dst, '-'), -uint64(v))
	}
	return appendUint(dst, uint64(v))
}

// appendUint appends u in decimal, as strconv.AppendUint(dst, u, 10) does.
func appendUint(dst []byte, u uint64) []byte {
	n := len(dst) + decimalLen(u)
	if n > cap(dst) {
		dst = append(dst[:cap(dst)], make([]byte, n-cap(dst))...)
	}
	dst = dst[:n]
	i := n
	for u >= 100 {
		q := u / 100
		r := (u - q*100) * 2
		i -= 2
		dst[i], dst[i+1] = digitPairs[r], digitPairs[r+1]
		u = q
	}
	if u >= 10 {
		dst[i-2], dst[i-1] = digitPairs[u*2], digitPairs[u*2+1]
	} else {
		dst[i-1] = byte('0' + u)
	}
	return dst
}

// digitPairs holds "00" to "99".
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// powersOf10 holds 10^0 to 10^19, the largest power of ten in a uint64.
var powersOf10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// decimalLen is the number of decimal digits of u. u has t or t+1 digits
// for t = floor(bits.Len64(u) * log10(2)), computed as *1233>>12.
func decimalLen(u uint64) int {
	t := bits.Len64(u) * 1233 >> 12
	if u >= powersOf10[t] {
		return t + 1
	}
	return max(t, 1)
}
