package mapping

import (
	"fmt"
	"strconv"
	"strings"
)

// modelField is one field of a line as InfluxDB 1.x stores it.
type modelField struct {
	str     string // unescaped string value
	isStr   bool
	raw     string // the value as written, for numbers and booleans
	integer bool   // written with the i suffix
}

// modelParseFields parses the fields and timestamp of a line (modelPoint's
// fields) as InfluxDB 1.x does: string values unescape \" and \\ and keep
// every other byte, a newline included.
func modelParseFields(s string) (map[string]modelField, int64, error) {
	out := map[string]modelField{}
	i := 0
	for {
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 {
			return nil, 0, fmt.Errorf("field without key at %d in %q", i, s)
		}
		key := s[i : i+eq]
		i += eq + 1
		var f modelField
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				b.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, 0, fmt.Errorf("unterminated string field %q in %q", key, s)
			}
			i++
			f = modelField{str: b.String(), isStr: true}
		} else {
			end := strings.IndexAny(s[i:], ", ")
			if end < 0 {
				return nil, 0, fmt.Errorf("field %q has no timestamp after it in %q", key, s)
			}
			f.raw = s[i : i+end]
			if strings.HasSuffix(f.raw, "i") {
				f.integer = true
				f.raw = strings.TrimSuffix(f.raw, "i")
			}
			i += end
		}
		if _, dup := out[key]; dup {
			return nil, 0, fmt.Errorf("field %q repeated in %q", key, s)
		}
		out[key] = f
		if i >= len(s) {
			return nil, 0, fmt.Errorf("no timestamp in %q", s)
		}
		if s[i] == ' ' {
			ts, err := strconv.ParseInt(strings.TrimSuffix(s[i+1:], "\n"), 10, 64)
			return out, ts, err
		}
		i++ // ','
	}
}
