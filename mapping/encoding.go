package mapping

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// encodedPrefix starts every stored measurement, tag key or tag value that
// is kept in the reversible form: the prefix followed by the unpadded
// base64url encoding (RFC 4648 section 5) of the original bytes. Both parts
// use only characters that need no escaping in line protocol and no
// quoting inside InfluxQL regular expressions.
const encodedPrefix = "~b64~"

// errInvalidEncoding is wrapped by the Decode functions' error for a stored
// name with encodedPrefix but no valid base64url after it, which only
// another writer can have stored.
var errInvalidEncoding = errors.New("invalid reversible encoding")

// base64URLAlphabet is the RFC 4648 "URL and filename safe" alphabet.
const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// position says where a string goes in a line; what line protocol and
// InfluxDB 1.x can carry differs between the three.
type position uint8

const (
	posMeasurement position = iota
	posTagKey
	posTagValue
)

// needsEncoding reports whether s cannot be stored as itself (escaped) at
// pos and must use the reversible form. The rules follow what InfluxDB 1.x
// does with a line, observed on a real server (docs/schema.md):
//
//   - a natural string that looks encoded must be encoded, or decoding
//     would be ambiguous;
//   - a newline ends the line, and escaping it keeps the backslash;
//   - a trailing backslash escapes the separator that follows it;
//   - a backslash right before a byte that line protocol escapes is eaten
//     by the unescaping (measurements also unescape \= and \"), and it
//     shifts InfluxDB's two-byte escape skipping so that the line splitter
//     can lose track of the line's end;
//   - a measurement starting with '#' makes the line a comment, and one
//     starting with a tab or NUL loses it to whitespace trimming;
//   - InfluxDB refuses "time" as a tag key.
func needsEncoding(s string, pos position) bool {
	if len(s) == 0 {
		return false
	}
	if strings.HasPrefix(s, encodedPrefix) {
		return true
	}
	switch pos {
	case posMeasurement:
		if c := s[0]; c == '#' || c == '\t' || c == 0 {
			return true
		}
	case posTagKey:
		if s == "time" {
			return true
		}
	}
	if s[len(s)-1] == '\\' {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return true
		case '\\':
			switch s[i+1] { // safe: s does not end with a backslash
			case ',', ' ', '=':
				return true
			case '"':
				if pos == posMeasurement {
					return true
				}
			}
		}
	}
	return false
}

// plainByte marks the bytes that need no escape and that no rule of
// needsEncoding looks at: printable ASCII but space, comma, '=', backslash,
// '~' and '#'. A plain string is stored as it is at every position (but the
// tag key "time"), so for typical names one table scan replaces the UTF-8,
// encoding and escaping checks.
var plainByte = func() (t [256]uint8) {
	for c := '!'; c <= '~'; c++ {
		switch c {
		case ',', '=', '\\', '~', '#':
		default:
			t[c] = 1
		}
	}
	return t
}()

// isPlain reports whether every byte of s is a plain byte, four bytes at a
// time with one branch.
func isPlain(s string) bool {
	for ; len(s) >= 4; s = s[4:] {
		if plainByte[s[0]]&plainByte[s[1]]&plainByte[s[2]]&plainByte[s[3]] == 0 {
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		if plainByte[s[i]] == 0 {
			return false
		}
	}
	return true
}

// appendStored appends s in its stored, line-protocol-escaped form for pos.
func appendStored(dst []byte, s string, pos position) []byte {
	if needsEncoding(s, pos) {
		dst = append(dst, encodedPrefix...)
		return appendBase64URL(dst, s)
	}
	return appendEscaped(dst, s, pos)
}

// appendEscaped appends s with line protocol's escapes for pos: commas and
// spaces everywhere, equals signs in tag keys and values.
func appendEscaped(dst []byte, s string, pos position) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ',' || c == ' ' || (c == '=' && pos != posMeasurement) {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', c)
			start = i + 1
		}
	}
	return append(dst, s[start:]...)
}

// appendBase64URL appends the unpadded base64url encoding of s, a string so
// that encoding a label costs no conversion.
func appendBase64URL(dst []byte, s string) []byte {
	i := 0
	for ; i+3 <= len(s); i += 3 {
		v := uint(s[i])<<16 | uint(s[i+1])<<8 | uint(s[i+2])
		dst = append(dst,
			base64URLAlphabet[v>>18&0x3f], base64URLAlphabet[v>>12&0x3f],
			base64URLAlphabet[v>>6&0x3f], base64URLAlphabet[v&0x3f])
	}
	switch len(s) - i {
	case 1:
		v := uint(s[i]) << 16
		dst = append(dst, base64URLAlphabet[v>>18&0x3f], base64URLAlphabet[v>>12&0x3f])
	case 2:
		v := uint(s[i])<<16 | uint(s[i+1])<<8
		dst = append(dst, base64URLAlphabet[v>>18&0x3f], base64URLAlphabet[v>>12&0x3f],
			base64URLAlphabet[v>>6&0x3f])
	}
	return dst
}

// StoredMeasurement returns the measurement name under which promflux
// stores the metric name, without line-protocol escaping: the form InfluxQL
// queries and results use.
func StoredMeasurement(metricName string) string {
	return storedName(metricName, posMeasurement)
}

// StoredTagKey returns the tag key under which promflux stores a label
// name, without line-protocol escaping.
func StoredTagKey(labelName string) string {
	return storedName(labelName, posTagKey)
}

// StoredTagValue returns the tag value under which promflux stores a label
// value, without line-protocol escaping.
func StoredTagValue(labelValue string) string {
	return storedName(labelValue, posTagValue)
}

func storedName(s string, pos position) string {
	if !needsEncoding(s, pos) {
		return s
	}
	return string(appendBase64URL([]byte(encodedPrefix), s))
}

// DecodeMeasurement returns the metric name stored as measurement stored,
// as InfluxDB returns it. Names not in the reversible form, such as those
// of other writers, come back unchanged.
func DecodeMeasurement(stored string) (string, error) {
	return decodeStored(stored, "measurement")
}

// DecodeTagKey returns the label name stored as tag key stored.
func DecodeTagKey(stored string) (string, error) {
	return decodeStored(stored, "tag key")
}

// DecodeTagValue returns the label value stored as tag value stored.
func DecodeTagValue(stored string) (string, error) {
	return decodeStored(stored, "tag value")
}

func decodeStored(stored, what string) (string, error) {
	if !strings.HasPrefix(stored, encodedPrefix) {
		return stored, nil
	}
	b, err := strictBase64URL.DecodeString(stored[len(encodedPrefix):])
	if err != nil {
		return "", fmt.Errorf("cannot decode %s %q: %w: %v", what, truncate(stored, maxQuotedLen), errInvalidEncoding, err)
	}
	return string(b), nil
}

// strictBase64URL rejects non-zero padding bits, so that every original
// string has exactly one encoded form.
var strictBase64URL = base64.RawURLEncoding.Strict()
