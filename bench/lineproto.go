package main

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// lpPoint is one line of InfluxDB 1.x line protocol, unescaped.
type lpPoint struct {
	measurement string
	tags        []lpTag
	fields      []lpField
	timestamp   int64
	hasTime     bool
}

type lpTag struct{ key, value string }

// lpField is a field; value is the unescaped string of a string field, else
// the literal as written (1.5, 3i, true).
type lpField struct {
	key   string
	kind  byte // 'f' float, 'i' integer, 's' string, 'b' boolean
	value string
}

// Errors of parseLine, wrapped with the position they were found at.
var (
	errNoMeasurement   = errors.New("missing measurement")
	errNoTagKey        = errors.New("missing tag key")
	errNoTagValue      = errors.New("missing tag value")
	errTagFormat       = errors.New("invalid tag format")
	errNoFields        = errors.New("missing fields")
	errNoFieldKey      = errors.New("missing field key")
	errNoFieldValue    = errors.New("missing field value")
	errNumber          = errors.New("invalid number")
	errBoolean         = errors.New("invalid boolean")
	errUnbalancedQuote = errors.New("unbalanced quotes")
	errTimestamp       = errors.New("bad timestamp")
)

// parseLine parses one line (without its '\n') the way InfluxDB 1.x does:
// a backslash makes the scanner skip the byte after it; unescaping turns
// "\," and "\ " (and in tag keys, tag values and field keys "\=") into the
// byte and keeps any other backslash; string field values unescape \" and
// \\; floats are decimal (no NaN or infinities), integers end in 'i',
// booleans are t, T, true, True, TRUE and the same for false; the timestamp
// is an optional signed integer. Blank lines and comments are the caller's
// to skip.
func parseLine(line []byte) (lpPoint, error) {
	var p lpPoint
	err := parse(line, &p)
	return p, err
}

// parse checks line and, when p is not nil, fills it. Validating a body
// passes nil, which allocates nothing for the names and values.
func parse(line []byte, p *lpPoint) error {
	n := len(line)
	i := scan(line, 0, ", ", false)
	if i == 0 {
		return errNoMeasurement
	}
	if p != nil {
		p.measurement = unescape(line[:i], false)
	}

	for i < n && line[i] == ',' {
		k := i + 1
		i = scan(line, k, ", =", false)
		if i == k {
			return fmt.Errorf("%w at byte %d", errNoTagKey, k)
		}
		if i >= n || line[i] != '=' {
			return fmt.Errorf("%w at byte %d: no '=' after the tag key", errTagFormat, k)
		}
		v := i + 1
		i = scan(line, v, ", =", false)
		if i == v {
			return fmt.Errorf("%w at byte %d", errNoTagValue, v)
		}
		if i < n && line[i] == '=' {
			return fmt.Errorf("%w at byte %d: unescaped '=' in the tag value", errTagFormat, i)
		}
		if p != nil {
			p.tags = append(p.tags, lpTag{unescape(line[k:v-1], true), unescape(line[v:i], true)})
		}
	}

	if i >= n || line[i] != ' ' {
		return errNoFields
	}
	i = skipSpaces(line, i)
	if i >= n {
		return errNoFields
	}
	for {
		k := i
		i = scan(line, k, ", =", false)
		if i == k {
			return fmt.Errorf("%w at byte %d", errNoFieldKey, k)
		}
		if i >= n || line[i] != '=' {
			return fmt.Errorf("%w at byte %d: no '=' after the field key", errNoFieldValue, k)
		}
		var f lpField
		v := i + 1
		if v >= n || line[v] == ' ' || line[v] == ',' {
			return fmt.Errorf("%w at byte %d", errNoFieldValue, v)
		}
		if line[v] == '"' {
			i = scan(line, v+1, `"`, false)
			if i >= n {
				return fmt.Errorf("%w at byte %d", errUnbalancedQuote, v)
			}
			if p != nil {
				f.kind, f.value = 's', unescapeString(line[v+1:i])
			}
			i++
		} else {
			i = scan(line, v, ", ", true)
			var err error
			if f.kind, err = fieldKind(line[v:i]); err != nil {
				return fmt.Errorf("%w at byte %d: %q", err, v, line[v:i])
			}
			if p != nil {
				f.value = string(line[v:i])
			}
		}
		if p != nil {
			f.key = unescape(line[k:v-1], true)
			p.fields = append(p.fields, f)
		}
		if i < n && line[i] == ',' {
			i++
			continue
		}
		if i < n && line[i] != ' ' {
			return fmt.Errorf("%w at byte %d: unexpected %q after a field value", errNoFieldValue, i, line[i])
		}
		break
	}

	i = skipSpaces(line, i)
	if i < n {
		ts := bytes.TrimRight(line[i:], " ")
		t, err := strconv.ParseInt(string(ts), 10, 64)
		if err != nil {
			return fmt.Errorf("%w at byte %d: %q", errTimestamp, i, ts)
		}
		if p != nil {
			p.timestamp, p.hasTime = t, true
		}
	}
	return nil
}

// scan returns the index of the first byte at or after i that is in stops,
// or len(b). Unless raw, a backslash makes it skip the byte after it.
func scan(b []byte, i int, stops string, raw bool) int {
	for i < len(b) {
		c := b[i]
		if c == '\\' && !raw {
			i += 2
			continue
		}
		for k := 0; k < len(stops); k++ {
			if c == stops[k] {
				return i
			}
		}
		i++
	}
	return len(b)
}

func skipSpaces(b []byte, i int) int {
	for i < len(b) && b[i] == ' ' {
		i++
	}
	return i
}

// unescape undoes the escapes of a measurement (\, and \ ) or, with
// equals, of a tag key, tag value or field key (also \=).
func unescape(b []byte, equals bool) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			if c := b[i+1]; c == ',' || c == ' ' || (equals && c == '=') {
				out = append(out, c)
				i++
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}

// unescapeString undoes \" and \\ in a string field value.
func unescapeString(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\') {
			i++
		}
		out = append(out, b[i])
	}
	return string(out)
}

// fieldKind checks an unquoted field value and returns its kind.
func fieldKind(v []byte) (byte, error) {
	switch string(v) {
	case "t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE":
		return 'b', nil
	}
	if c := v[0]; c != '-' && c != '+' && c != '.' && (c < '0' || c > '9') {
		if c == 't' || c == 'T' || c == 'f' || c == 'F' {
			return 0, errBoolean
		}
		return 0, errNumber
	}
	if v[len(v)-1] == 'i' {
		if _, err := strconv.ParseInt(string(v[:len(v)-1]), 10, 64); err != nil {
			return 0, errNumber
		}
		return 'i', nil
	}
	for _, c := range v {
		if (c < '0' || c > '9') && c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+' {
			return 0, errNumber
		}
	}
	if _, err := strconv.ParseFloat(string(v), 64); err != nil {
		return 0, errNumber
	}
	return 'f', nil
}

// countLines counts the points of a body without parsing them: its '\n'
// bytes, plus a last line without one. Blank lines and comments, which
// InfluxDB skips, are counted too; writers of benchmark traffic send
// neither.
func countLines(body []byte) int {
	n := bytes.Count(body, []byte{'\n'})
	if len(body) > 0 && body[len(body)-1] != '\n' {
		n++
	}
	return n
}

// validateBody parses every line of body. It returns the number of points
// and, for the first malformed line, an error quoting it; like InfluxDB, it
// counts the valid lines of a body that has malformed ones too.
func validateBody(body []byte) (points int, err error) {
	for line := range bytes.Lines(body) {
		line = bytes.TrimRight(line, "\n")
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if perr := parse(line, nil); perr != nil {
			if err == nil {
				err = fmt.Errorf("unable to parse '%s': %w", line, perr)
			}
			continue
		}
		points++
	}
	return points, err
}
