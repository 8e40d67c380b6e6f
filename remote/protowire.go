package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// Protobuf wire types.
const (
	wireVarint     = 0
	wireFixed64    = 1
	wireBytes      = 2
	wireStartGroup = 3
	wireEndGroup   = 4
	wireFixed32    = 5
)

// The primitives below accept and refuse exactly the inputs the
// gogo-generated unmarshallers of prompb do (Prometheus's own receiver uses
// them), so that replacing them changes no request's fate: varints of up to
// ten bytes whose bits past the 64th are dropped, field numbers taken from the
// low 32 bits of the key, groups skipped as unknown fields.
var (
	errTruncated = errors.New("unexpected end of message")
	errOverflow  = errors.New("varint longer than 10 bytes")
	errEndGroup  = errors.New("wire type end group outside a group")
)

// The decoding functions come as a fast path small enough to be inlined
// into the walk and an out-of-line rest that handles long encodings and
// errors.

// varint decodes the base-128 varint at the start of b and returns it with
// its length in bytes.
func varint(b []byte) (uint64, int, error) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1, nil
	}
	if len(b) > 1 && b[1] < 0x80 {
		return uint64(b[0]&0x7f) | uint64(b[1])<<7, 2, nil
	}
	return varintSlow(b)
}

//go:noinline
func varintSlow(b []byte) (uint64, int, error) {
	var v uint64
	for i, shift := 0, uint(0); shift < 64; i, shift = i+1, shift+7 {
		if i >= len(b) {
			return 0, 0, errTruncated
		}
		c := b[i]
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errOverflow
}

// tag decodes the field key at the start of b. Like the generated code it
// refuses a lone end-group key and a field number that is not positive in
// its low 32 bits.
func tag(b []byte) (key uint64, n int, err error) {
	if len(b) > 0 && b[0] < 0x80 && b[0]>>3 != 0 && b[0]&7 != wireEndGroup {
		return uint64(b[0]), 1, nil
	}
	return tagSlow(b)
}

//go:noinline
func tagSlow(b []byte) (uint64, int, error) {
	key, n, err := varint(b)
	if err != nil {
		return 0, 0, fmt.Errorf("field key: %w", err)
	}
	if key&7 == wireEndGroup {
		return 0, 0, errEndGroup
	}
	if fieldNum(key) <= 0 {
		return 0, 0, fmt.Errorf("illegal field number %d in key %#x", fieldNum(key), key)
	}
	return key, n, nil
}

// fieldNum is the field number of key as the generated code sees it: the
// low 32 bits of key>>3, which can be negative.
func fieldNum(key uint64) int32 { return int32(key >> 3) }

// lengthPrefixed returns the length-delimited value at the start of b (after
// its key) and the number of bytes it takes with its length prefix.
func lengthPrefixed(b []byte) ([]byte, int, error) {
	l, n, err := varint(b)
	if err == nil && l <= uint64(len(b)-n) {
		end := n + int(l)
		return b[n:end], end, nil
	}
	return nil, 0, lengthError(b)
}

//go:noinline
func lengthError(b []byte) error {
	l, n, err := varint(b)
	if err != nil {
		return fmt.Errorf("length: %w", err)
	}
	return fmt.Errorf("length %d exceeds the %d bytes left: %w", l, len(b)-n, errTruncated)
}

// double decodes a field of type double, which must be a fixed64.
func double(b []byte, wt int, name string) (float64, int, error) {
	if wt == wireFixed64 && len(b) >= 8 {
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), 8, nil
	}
	return 0, 0, fieldError(b, wt, wireFixed64, name)
}

// scalar decodes a varint field (int64, uint32, enum), which must be a
// varint. Narrower types keep the low bits, as the generated code does.
func scalar(b []byte, wt int, name string) (uint64, int, error) {
	if wt == wireVarint {
		if v, n, err := varint(b); err == nil {
			return v, n, nil
		}
	}
	return 0, 0, fieldError(b, wt, wireVarint, name)
}

// message decodes a length-delimited field (string, bytes, message).
func message(b []byte, wt int, name string) ([]byte, int, error) {
	if wt == wireBytes {
		if v, n, err := lengthPrefixed(b); err == nil {
			return v, n, nil
		}
	}
	return nil, 0, fieldError(b, wt, wireBytes, name)
}

// fieldError tells why field name of wire type wt, which should be want,
// cannot be decoded from b.
//
//go:noinline
func fieldError(b []byte, wt, want int, name string) error {
	if wt != want {
		return fmt.Errorf("field %s has wire type %d", name, wt)
	}
	var err error
	switch want {
	case wireVarint:
		_, _, err = varint(b)
	case wireBytes:
		_, _, err = lengthPrefixed(b)
	default:
		err = errTruncated
	}
	return fmt.Errorf("%s: %w", name, err)
}

// appendRefs appends a repeated uint32 field, packed (wire type bytes) or one
// element per key (varint), to refs. Like the generated code, the last
// element of a packed run may end past the run's declared length but not
// past msg, the enclosing message; decoding resumes after it.
func appendRefs(refs []uint32, msg []byte, wt int, name string) ([]uint32, int, error) {
	switch wt {
	case wireVarint:
		v, n, err := varint(msg)
		if err != nil {
			return refs, 0, fmt.Errorf("%s: %w", name, err)
		}
		return append(refs, uint32(v)), n, nil
	case wireBytes:
		l, i, err := varint(msg)
		if err != nil {
			return refs, 0, fmt.Errorf("%s: length: %w", name, err)
		}
		if l > uint64(len(msg)-i) {
			return refs, 0, fmt.Errorf("%s: packed length %d exceeds the %d bytes left: %w", name, l, len(msg)-i, errTruncated)
		}
		for end := i + int(l); i < end; {
			if c := msg[i]; c < 0x80 { // most refs of most requests
				refs = append(refs, uint32(c))
				i++
				continue
			}
			v, n, err := varint(msg[i:])
			if err != nil {
				return refs, 0, fmt.Errorf("%s: %w", name, err)
			}
			refs = append(refs, uint32(v))
			i += n
		}
		return refs, i, nil
	default:
		return refs, 0, fieldError(msg, wt, wireBytes, name)
	}
}

// skip returns the length of the value of wire type wt at the start of b,
// for fields the decoder does not know. A group is skipped up to its matching
// end, whatever the field numbers inside.
func skip(b []byte, wt int) (int, error) {
	i, depth := 0, 0
	for {
		switch wt {
		case wireVarint:
			_, n, err := varint(b[i:])
			if err != nil {
				return 0, err
			}
			i += n
		case wireFixed64:
			if len(b)-i < 8 {
				return 0, errTruncated
			}
			i += 8
		case wireBytes:
			_, n, err := lengthPrefixed(b[i:])
			if err != nil {
				return 0, err
			}
			i += n
		case wireStartGroup:
			depth++
		case wireEndGroup:
			if depth == 0 {
				return 0, errEndGroup
			}
			depth--
		case wireFixed32:
			if len(b)-i < 4 {
				return 0, errTruncated
			}
			i += 4
		default:
			return 0, fmt.Errorf("illegal wire type %d", wt)
		}
		if depth == 0 {
			return i, nil
		}
		key, n, err := varint(b[i:])
		if err != nil {
			return 0, fmt.Errorf("in group: %w", err)
		}
		i += n
		wt = int(key & 7)
	}
}

// skipUnknown skips the unknown field of key at the start of b.
func skipUnknown(b []byte, key uint64) (int, error) {
	n, err := skip(b, int(key&7))
	if err != nil {
		return 0, fmt.Errorf("unknown field %d: %w", fieldNum(key), err)
	}
	return n, nil
}

// aliasString returns b's bytes as a string without copying: the string is
// only valid as long as b is not modified or reused.
func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
