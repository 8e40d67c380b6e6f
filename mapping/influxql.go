package mapping

import (
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

// InfluxDB 1.x keeps time in int64 nanoseconds and reserves the two values
// at each end; a bound outside [minNanoTime, maxNanoTime] makes a query
// return nothing at all (observed on 1.6.7, docs/schema.md).
const (
	minNanoTime = math.MinInt64 + 2
	maxNanoTime = math.MaxInt64 - 1
)

// nanoTime converts a millisecond timestamp to the nanoseconds InfluxQL
// compares, clamped to InfluxDB's range so that open ranges do not
// overflow.
func nanoTime(ms int64) int64 {
	switch {
	case ms < minTimestampMs:
		return minNanoTime
	case ms > maxTimestampMs:
		return maxNanoTime
	}
	return ms * 1e6
}

// literalSafe reports whether InfluxQL's scanner reads s back unchanged
// from a quoted literal. The scanner reads runes: invalid UTF-8 becomes
// U+FFFD, NUL is its end of input and a carriage return a newline, and its
// string escapes (\n \\ \' \") have no form for any of these.
func literalSafe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return strings.IndexByte(s, 0) < 0 && strings.IndexByte(s, '\r') < 0
}

// appendQuoted appends s between quote characters q (' for strings, " for
// identifiers) with the escapes InfluxQL's ScanString undoes: backslash,
// both quote characters and newline. The caller has checked literalSafe.
func appendQuoted(dst []byte, s string, q byte) []byte {
	dst = append(dst, q)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'', '"':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, q)
}

// quoteIdent returns s as a double-quoted InfluxQL identifier, or false if
// no identifier can carry s exactly.
func quoteIdent(s string) (string, bool) {
	if !literalSafe(s) {
		return "", false
	}
	return string(appendQuoted(nil, s, '"')), true
}

// quoteString returns s as a single-quoted InfluxQL string literal, or
// false if no string literal can carry s exactly.
func quoteString(s string) (string, bool) {
	if !literalSafe(s) {
		return "", false
	}
	return string(appendQuoted(nil, s, '\'')), true
}

// promRegex returns the body of an InfluxQL regex literal (without the
// slashes) that makes InfluxDB run the regex Prometheus runs for a =~ or !~
// matcher with value re: parsed with Perl syntax and (?s), in canonical form
// and fully anchored, as labels.NewMatcher does. It returns false if re does
// not parse (Prometheus accepts some literal alternations unparsed, e.g.
// with invalid UTF-8).
//
// The canonical form escapes every non-printable rune, so the literal holds
// no raw newline, carriage return or NUL, which InfluxQL's scanner cannot
// read in a regex. The scanner turns \/ into / and passes every other
// backslash through, so escaping each / hands RE2 exactly the pattern.
func promRegex(re string) (string, bool) {
	parsed, err := syntax.Parse(re, syntax.Perl|syntax.DotNL)
	if err != nil {
		return "", false
	}
	canonical := parsed.String()
	if !literalSafe(canonical) || strings.IndexByte(canonical, '\n') >= 0 {
		return "", false // not produced by Parse and String; checked to stay exact
	}
	return "^(?s:" + strings.ReplaceAll(canonical, "/", `\/`) + ")$", true
}

// exactRegex returns the body of an InfluxQL regex literal that matches
// exactly s, for strings no quoted literal can carry. Each invalid UTF-8
// byte becomes U+FFFD, which RE2 matches against an invalid byte, so the
// regex also accepts the same string with real U+FFFD runes there.
func exactRegex(s string) string {
	var b strings.Builder
	b.WriteString("^(?:")
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x{fffd}`)
		case r == '/':
			b.WriteString(`\/`)
		case r < ' ' || r == 0x7f:
			b.WriteString(`\x`)
			if r < 0x10 {
				b.WriteByte('0')
			}
			b.WriteString(strconv.FormatInt(int64(r), 16))
		default:
			b.WriteString(regexp.QuoteMeta(s[i : i+size]))
		}
		i += size
	}
	b.WriteString(")$")
	return b.String()
}
