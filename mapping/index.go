package mapping

import (
	"strings"
)

// Statements of InfluxDB's index, for the label names and values of
// Prometheus's API. InfluxDB 1.x answers them for all time: SHOW
// MEASUREMENTS refuses a time condition, and SHOW TAG KEYS and SHOW TAG
// VALUES accept one and ignore it (observed on 1.6.7).

// MeasurementsQuery lists the stored measurements of a database, one row
// of one string each (column "name"): the metric names, in their stored
// form, and Bookkeeping measurements. A measurement belongs to every
// retention policy of its database.
const MeasurementsQuery = "SHOW MEASUREMENTS"

// Bookkeeping reports whether a stored measurement holds promflux's own
// points, metadata, rather than a metric's series: labels, series and
// reads leave it out.
func Bookkeeping(storedMeasurement string) bool {
	return storedMeasurement == metadataMeasurement
}

// TagKeysQuery returns the statement that lists, from InfluxDB's index, the
// tag keys of every measurement, one result series per measurement (named
// after it) with a row of one string per key (column "tagKey"):
//
//	SHOW TAG KEYS FROM <rp>./.*/
//
// Decode each key with DecodeTagKey; the keys of Bookkeeping measurements
// are no label names. retentionPolicy "" means the database's default.
func TagKeysQuery(retentionPolicy string) string {
	var b strings.Builder
	b.WriteString("SHOW TAG KEYS FROM ")
	fromClause{regex: ".*"}.appendTo(&b, retentionPolicy)
	return b.String()
}

// TagValuesQuery returns the statement that lists, from InfluxDB's index,
// the values of the tags a label may be stored under (its stored key, and
// its name when that differs, as other writers store it), one result
// series per measurement with rows of two strings, the key and the value:
//
//	SHOW TAG VALUES FROM <rp>./.*/ WITH KEY IN ("<stored key>", "<name>")
//
// A key InfluxQL cannot quote is matched by an exact regex. Keep the rows
// whose key DecodeTagKey turns into the label name, and decode their
// values with DecodeTagValue; leave out Bookkeeping measurements.
func TagValuesQuery(retentionPolicy, labelName string) string {
	keys := []string{StoredTagKey(labelName)}
	if keys[0] != labelName && labelName != "time" {
		keys = append(keys, labelName)
	}
	var b strings.Builder
	b.WriteString("SHOW TAG VALUES FROM ")
	fromClause{regex: ".*"}.appendTo(&b, retentionPolicy)
	idents := make([]string, 0, len(keys))
	for _, k := range keys {
		id, ok := quoteIdent(k)
		if !ok {
			idents = nil
			break
		}
		idents = append(idents, id)
	}
	switch {
	case len(idents) == 1:
		b.WriteString(" WITH KEY = " + idents[0])
	case len(idents) > 1:
		b.WriteString(" WITH KEY IN (" + strings.Join(idents, ", ") + ")")
	default:
		regexes := make([]string, len(keys))
		for i, k := range keys {
			regexes[i] = exactRegex(k)
		}
		b.WriteString(" WITH KEY =~ /" + strings.Join(regexes, "|") + "/")
	}
	return b.String()
}
