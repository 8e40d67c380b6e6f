package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// This file models how InfluxDB 1.x splits and tokenizes a line-protocol
// body (models/points.go of InfluxDB 1.x, and what a 1.6.7 server was seen
// to store), so that tests can check what InfluxDB would store for a line
// without a server. It models only what matters for the key: line
// splitting, comment and whitespace handling, measurement and tag
// scanning, and unescaping.

// modelPoint is what InfluxDB stores for one line.
type modelPoint struct {
	measurement string
	tags        [][2]string // unescaped key, value in line order
	fields      string      // the rest of the line after the key's space
	keyLen      int         // escaped key length
}

// modelSplitLines splits buf into lines the way InfluxDB does: a backslash
// always skips the next byte, and after the first space a double quote
// that follows more '=' than ',' opens a string in which newlines do not
// end the line.
func modelSplitLines(buf []byte) [][]byte {
	var lines [][]byte
	for pos := 0; pos < len(buf); {
		start := pos
		quoted, fields := false, false
		equals, commas := 0, 0
		i := pos
		for i < len(buf) {
			c := buf[i]
			if c == '\\' {
				i += 2
				continue
			}
			if c == ' ' {
				fields = true
			}
			if fields {
				if !quoted && c == '=' {
					equals++
					i++
					continue
				}
				if !quoted && c == ',' {
					commas++
					i++
					continue
				}
				if c == '"' && equals > commas {
					quoted = !quoted
					i++
					continue
				}
			}
			if c == '\n' && !quoted {
				break
			}
			i++
		}
		if i > len(buf) {
			i = len(buf)
		}
		lines = append(lines, buf[start:i])
		pos = i + 1
	}
	return lines
}

var errModelComment = errors.New("line is skipped as a comment or blank")

// modelParseKey tokenizes one line's key as InfluxDB does.
func modelParseKey(line []byte) (modelPoint, error) {
	var p modelPoint
	start := 0
	for start < len(line) && (line[start] == ' ' || line[start] == '\t' || line[start] == 0) {
		start++
	}
	if start == len(line) || line[start] == '#' {
		return p, errModelComment
	}
	if start != 0 {
		return p, fmt.Errorf("%d leading whitespace bytes would be trimmed", start)
	}
	buf := line
	if buf[0] == ',' {
		return p, errors.New("missing measurement")
	}
	// Measurement: up to an unescaped comma or space, where "escaped" means
	// the previous byte is a backslash.
	i := 0
	inTags := false
	for {
		i++
		if i >= len(buf) {
			return p, errors.New("missing fields")
		}
		if buf[i-1] == '\\' {
			continue
		}
		if buf[i] == ',' {
			inTags = true
			break
		}
		if buf[i] == ' ' {
			break
		}
	}
	if m := buf[:i]; bytes.Contains(m, []byte(`\\,`)) || bytes.Contains(m, []byte(`\\ `)) ||
		bytes.Contains(m, []byte(`\\=`)) || bytes.Contains(m, []byte(`\\"`)) {
		// Seen on InfluxDB 1.6.7: such a series is stored, but neither
		// SELECT nor GROUP BY returns it.
		return p, fmt.Errorf("measurement %q has a backslash before an escape: stored but unreadable", m)
	}
	p.measurement = modelUnescapeMeasurement(buf[:i])
	if inTags {
		i++
		for {
			// Tag key: up to an unescaped '='.
			ks := i
			if i >= len(buf) || buf[i] == ' ' || buf[i] == ',' || buf[i] == '=' {
				return p, errors.New("missing tag key")
			}
			for {
				i++
				if i >= len(buf) || (buf[i] == ' ' || buf[i] == ',') && buf[i-1] != '\\' {
					return p, errors.New("missing tag value")
				}
				if buf[i] == '=' && buf[i-1] != '\\' {
					break
				}
			}
			key := buf[ks:i]
			i++
			vs := i
			if i >= len(buf) || buf[i] == ',' || buf[i] == ' ' {
				return p, errors.New("missing tag value")
			}
			end := false
			for {
				i++
				if i >= len(buf) {
					return p, errors.New("missing fields")
				}
				if buf[i] == '=' && buf[i-1] != '\\' {
					return p, errors.New("invalid tag format")
				}
				if buf[i] == ',' && buf[i-1] != '\\' {
					break
				}
				if buf[i] == ' ' && buf[i-1] != '\\' {
					end = true
					break
				}
			}
			k, err := modelUnescapeTag(key)
			if err != nil {
				return p, err
			}
			v, err := modelUnescapeTag(buf[vs:i])
			if err != nil {
				return p, err
			}
			p.tags = append(p.tags, [2]string{k, v})
			if end {
				break
			}
			i++
		}
	}
	p.keyLen = i
	p.fields = string(buf[i+1:])
	if p.keyLen > maxSeriesKeyLen {
		return p, fmt.Errorf("max key length exceeded: %d", p.keyLen)
	}
	seen := map[string]bool{}
	for _, kv := range p.tags {
		if kv[0] == "time" {
			return p, errors.New(`invalid tag key "time"`)
		}
		if seen[kv[0]] {
			return p, errors.New("duplicate tags")
		}
		seen[kv[0]] = true
	}
	return p, nil
}

// modelUnescapeMeasurement removes the escapes InfluxDB 1.6 removes from a
// measurement, scanning left to right.
func modelUnescapeMeasurement(b []byte) string {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			switch b[i+1] {
			case ',', ' ', '=', '"':
				out = append(out, b[i+1])
				i++
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}

// tagUnescapeOrders are all orders in which InfluxDB may apply its three
// tag unescapes: it ranges over a map, so the order varies between calls.
var tagUnescapeOrders = [][3]byte{
	{',', ' ', '='}, {',', '=', ' '}, {' ', ',', '='},
	{' ', '=', ','}, {'=', ',', ' '}, {'=', ' ', ','},
}

// modelUnescapeTag unescapes a tag key or value in every possible order
// and fails if the orders disagree, since InfluxDB could then store either.
func modelUnescapeTag(b []byte) (string, error) {
	var first string
	for n, order := range tagUnescapeOrders {
		out := b
		for _, c := range order {
			out = bytes.ReplaceAll(out, []byte{'\\', c}, []byte{c})
		}
		if n == 0 {
			first = string(out)
		} else if string(out) != first {
			return "", fmt.Errorf("unescaping %q depends on order: %q or %q", b, first, out)
		}
	}
	return first, nil
}

// TestLineModelNeedsEncoding shows, for each rule of needsEncoding, that
// escaping alone would lose or corrupt data in InfluxDB (per the model),
// so that the model is known to catch what the encoding prevents.
func TestLineModelNeedsEncoding(t *testing.T) {
	for _, tc := range []struct {
		name             string
		measurement      string
		tagKey, tagValue string
	}{
		{"newline in value", "m", "k", "a\nb"},
		{"trailing backslash in value", "m", "k", `ab\`},
		{"trailing backslash in key", "m", `k\`, "v"},
		{"trailing backslash in measurement", `m\`, "k", "v"},
		{"backslash before escaped space then quote", "m", "k", `\ \=,"`},
		{"backslash before comma in measurement", `a\,b`, "k", "v"},
		{"backslash before quote in measurement", `a\"b`, "k", "v"},
		{"backslash before equals in measurement", `a\=b`, "k", "v"},
		{"leading hash", "#m", "k", "v"},
		{"leading tab", "\tm", "k", "v"},
		{"time tag key", "m", "time", "v"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var line []byte
			line = appendEscaped(line, tc.measurement, posMeasurement)
			line = append(line, ',')
			line = appendEscaped(line, tc.tagKey, posTagKey)
			line = append(line, '=')
			line = appendEscaped(line, tc.tagValue, posTagValue)
			line = append(line, " value=1 1\nm value=2 2\n"...)
			lines := modelSplitLines(line)
			if len(lines) != 2 {
				return // the line split wrongly: data lost
			}
			p, err := modelParseKey(lines[0])
			if err != nil {
				return
			}
			if p.measurement == tc.measurement && len(p.tags) == 1 && p.tags[0] == [2]string{tc.tagKey, tc.tagValue} {
				t.Errorf("plain escaping of %q survives the model; the model or the rule is wrong", line)
			}
		})
	}
}
