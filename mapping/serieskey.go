package mapping

import (
	"errors"
	"strings"
)

// ParseSeriesKey splits a series key as InfluxDB 1.x lists it in SHOW
// SERIES, "m,k1=v1,k2=v2" with the escapes of line protocol, into the
// stored measurement and tags, exactly as InfluxDB itself splits it into
// the name and tags of a GROUP BY * answer: a separator preceded by a
// backslash is part of the name, key or value, and `\,` and `\ ` (and `\=`
// in tags) are then unescaped. A tag without a value is left out.
func ParseSeriesKey(key string) (measurement string, tags map[string]string, err error) {
	i := scanTo(key, 0, ',')
	measurement = unescape(key[:i], measurementEscapes)
	if measurement == "" {
		return "", nil, errors.New("series key without a measurement")
	}
	tags = map[string]string{}
	for i++; i < len(key); i++ {
		eq := scanTo(key, i, '=')
		if eq == len(key) {
			return "", nil, errors.New("series key with a tag without '='")
		}
		end := eq + 1
		for end < len(key) && (key[end] != ',' || key[end-1] == '\\') {
			end++
		}
		if v := key[eq+1 : end]; v != "" {
			tags[unescape(key[i:eq], tagEscapes)] = unescape(v, tagEscapes)
		}
		i = end
	}
	return measurement, tags, nil
}

// scanTo returns the index of the first stop byte of s from i that no
// backslash precedes, len(s) if none.
func scanTo(s string, i int, stop byte) int {
	for ; i < len(s); i++ {
		if s[i] == stop && (i == 0 || s[i-1] != '\\') {
			return i
		}
	}
	return i
}

var (
	measurementEscapes = strings.NewReplacer(`\,`, ",", `\ `, " ")
	tagEscapes         = strings.NewReplacer(`\,`, ",", `\ `, " ", `\=`, "=")
)

func unescape(s string, r *strings.Replacer) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	return r.Replace(s)
}
