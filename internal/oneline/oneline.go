// Package oneline puts error messages on one line, whatever a database, a
// decoder or a regular expression put into them: Prometheus keeps only the
// first line of an error answer, and a log line must stay one line.
package oneline

import "strings"

// Of returns s without leading and trailing white space and, when s has
// several lines, with its lines joined: each trimmed, empty ones dropped,
// "; " between two (InfluxDB lists one refused line per line), or a space
// after a line ending in ':', which introduces the next (as YAML's
// "unmarshal errors:" does). A message on one line is only trimmed.
func Of(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for line := range strings.FieldsFuncSeq(s, isBreak) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if b.Len() > 0 {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteByte(' ')
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(line)
	}
	return b.String()
}

func isBreak(r rune) bool { return r == '\n' || r == '\r' }
