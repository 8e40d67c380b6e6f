package mapping

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file models how InfluxDB 1.x's InfluxQL scanner (influxql's
// scanner.go: reader, ScanString, ScanRegex/ScanDelimited) reads a
// statement, so that tests can check which bytes each literal hands to
// InfluxDB and that no value changes the statement's structure.

// modelRunes reads s as the scanner's reader does: invalid UTF-8 becomes
// U+FFFD, CR and CRLF become LF, and a NUL rune is its end-of-input marker.
func modelRunes(s string) []rune {
	var rs []rune
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == 0 {
			break
		}
		if r == '\r' {
			if i < len(s) && s[i] == '\n' {
				i++
			}
			r = '\n'
		}
		rs = append(rs, r)
	}
	return rs
}

type modelToken struct {
	kind string // "ident", "string", "regex", "number", "word" or the operator itself
	text string // decoded literal, bare word or number
}

// modelTokenize splits an InfluxQL statement into tokens. A '/' starts a
// regex where the parser expects one: after =~, !~, FROM, '.' or ',' (the
// sources of FROM). Comments, semicolons and anything unknown are errors,
// since promflux never produces them.
func modelTokenize(q string) ([]modelToken, error) {
	rs := modelRunes(q)
	var toks []modelToken
	i := 0
	last := func() string {
		if len(toks) == 0 {
			return ""
		}
		t := toks[len(toks)-1]
		if t.kind == "word" {
			return strings.ToUpper(t.text)
		}
		return t.kind
	}
	for i < len(rs) {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '"' || c == '\'':
			lit, n, err := modelScanString(rs[i:])
			if err != nil {
				return toks, err
			}
			kind := "string"
			if c == '"' {
				kind = "ident"
			}
			toks = append(toks, modelToken{kind, lit})
			i += n
		case c == '/' && (last() == "=~" || last() == "!~" || last() == "FROM" || last() == "." || last() == ","):
			lit, n, err := modelScanRegex(rs[i:])
			if err != nil {
				return toks, err
			}
			toks = append(toks, modelToken{"regex", lit})
			i += n
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			j := i
			for j < len(rs) && (rs[j] >= 'a' && rs[j] <= 'z' || rs[j] >= 'A' && rs[j] <= 'Z' || rs[j] == '_' || rs[j] >= '0' && rs[j] <= '9') {
				j++
			}
			toks = append(toks, modelToken{"word", string(rs[i:j])})
			i = j
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(rs) && rs[i+1] >= '0' && rs[i+1] <= '9':
			j := i + 1
			for j < len(rs) && rs[j] >= '0' && rs[j] <= '9' {
				j++
			}
			toks = append(toks, modelToken{"number", string(rs[i:j])})
			i = j
		default:
			op := ""
			for _, o := range []string{"::", "=~", "!~", "!=", ">=", "<=", "=", "(", ")", ",", ".", "*"} {
				if strings.HasPrefix(string(rs[i:min(i+2, len(rs))]), o) {
					op = o
					break
				}
			}
			if op == "" {
				return toks, fmt.Errorf("unexpected %q at rune %d", c, i)
			}
			toks = append(toks, modelToken{op, ""})
			i += len(op)
		}
	}
	return toks, nil
}

var errModelBadString = errors.New("bad string")

// modelScanString follows ScanString: the opening quote ends the literal;
// \n \\ \" \' are the only escapes; a raw newline or the end is an error.
func modelScanString(rs []rune) (string, int, error) {
	end := rs[0]
	var b strings.Builder
	for i := 1; i < len(rs); i++ {
		switch c := rs[i]; c {
		case end:
			return b.String(), i + 1, nil
		case '\n':
			return "", 0, errModelBadString
		case '\\':
			if i+1 >= len(rs) {
				return "", 0, errModelBadString
			}
			i++
			switch rs[i] {
			case 'n':
				b.WriteByte('\n')
			case '\\', '"', '\'':
				b.WriteRune(rs[i])
			default:
				return "", 0, fmt.Errorf("bad escape \\%c", rs[i])
			}
		default:
			b.WriteRune(c)
		}
	}
	return "", 0, errModelBadString
}

// modelScanRegex follows ScanDelimited with '/' delimiters, the only escape
// \/ and other backslashes passed through (the rune after one is read
// again), and newlines refused.
func modelScanRegex(rs []rune) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '/':
			return b.String(), i + 1, nil
		case '\n':
			return "", 0, errors.New("regex contains a newline")
		case '\\':
			if i+1 >= len(rs) {
				return "", 0, errors.New("bad regex")
			}
			if rs[i+1] == '/' {
				b.WriteByte('/')
				i++
			} else {
				b.WriteByte('\\')
			}
		default:
			b.WriteRune(c)
		}
	}
	return "", 0, errors.New("bad regex")
}
