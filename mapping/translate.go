package mapping

import (
	"math"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// encodedRegex matches every stored name or value in the reversible form.
// Conditions add it where InfluxDB cannot compare the stored form with the
// query's value, leaving Selection.Matches to decide on the decoded value.
const encodedRegex = "^" + encodedPrefix

// fromClause is the FROM part of a discovery statement before the
// retention policy is known.
type fromClause struct {
	// idents are quoted measurement names; if empty, regex is used.
	idents []string
	// regex is the body of a regex over measurement names.
	regex string
}

// newFromClause picks the most selective __name__ matcher for FROM: an
// equality names the measurement (both stored forms, if they differ); a
// regex runs on measurement names and keeps every encoded name for Matches
// to decide; anything else reads all measurements.
func newFromClause(ms []*labels.Matcher) fromClause {
	var re *labels.Matcher
	for _, m := range ms {
		if m.Name != metricNameLabel {
			continue
		}
		if m.Type == labels.MatchEqual && m.Value != "" {
			return fromEqual(m.Value)
		}
		if m.Type == labels.MatchRegexp && re == nil {
			re = m
		}
	}
	if re != nil {
		if body, ok := promRegex(re.Value); ok {
			return fromClause{regex: body + "|" + encodedRegex}
		}
	}
	return fromClause{regex: ".*"}
}

func fromEqual(name string) fromClause {
	var fc fromClause
	for _, stored := range []string{StoredMeasurement(name), name} {
		id, ok := quoteIdent(stored)
		if !ok {
			return fromClause{regex: exactRegex(StoredMeasurement(name)) + "|" + exactRegex(name)}
		}
		if !slices.Contains(fc.idents, id) {
			fc.idents = append(fc.idents, id)
		}
	}
	return fc
}

// appendTo appends the sources, qualified by the retention policy unless
// it is "" (the database's default).
func (fc fromClause) appendTo(b *strings.Builder, retentionPolicy string) {
	rp := ""
	if retentionPolicy != "" {
		if id, ok := quoteIdent(retentionPolicy); ok {
			rp = id + "."
		}
	}
	if len(fc.idents) == 0 {
		b.WriteString(rp + "/" + fc.regex + "/")
		return
	}
	for i, id := range fc.idents {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(rp + id)
	}
}

// tagPrefilter translates the matchers on labels other than __name__ into
// InfluxQL conditions on stored tags, joined by AND. A condition may accept
// more series than its matcher, never fewer. InfluxDB 1.x treats a missing
// tag as the empty string in =, !=, =~ and !~, as Prometheus treats a
// missing label (docs/schema.md), so only the reversible form and strings
// InfluxQL cannot carry need care.
func tagPrefilter(ms []*labels.Matcher) string {
	var conds []string
	for _, m := range ms {
		if m.Name == metricNameLabel {
			continue
		}
		if c := matcherCondition(m); c != "" {
			conds = append(conds, c)
		}
	}
	return strings.Join(conds, " AND ")
}

// matcherCondition returns the condition for one matcher, or "" when no
// condition can be a safe superset.
func matcherCondition(m *labels.Matcher) string {
	// promflux stores the label under its stored key, other writers under
	// the name itself; a series has at most one of them, so OR over both
	// keys is a superset.
	var alts []string
	for _, key := range tagKeys(m.Name) {
		c := keyCondition(key, m)
		if c == "" {
			return ""
		}
		alts = appendUnique(alts, c)
	}
	return orGroup(alts)
}

// tagKeys returns the quoted tag keys under which a label may be stored,
// with the ::tag qualifier: InfluxQL would otherwise compare the field
// "value" for a label named value.
func tagKeys(name string) []string {
	var keys []string
	stored := StoredTagKey(name)
	if id, ok := quoteIdent(stored); ok {
		keys = append(keys, id+"::tag")
	} else {
		return nil
	}
	if stored != name && name != "time" {
		if id, ok := quoteIdent(name); ok {
			keys = append(keys, id+"::tag")
		}
	}
	return keys
}

// keyCondition translates m for one stored tag key.
func keyCondition(key string, m *labels.Matcher) string {
	switch m.Type {
	case labels.MatchEqual:
		if m.Value == "" {
			return key + " = ''"
		}
		var alts []string
		stored := StoredTagValue(m.Value)
		for _, v := range []string{stored, m.Value} {
			alts = appendUnique(alts, equalCondition(key, v))
		}
		return orGroup(alts)
	case labels.MatchNotEqual:
		if m.Value == "" {
			return key + " != ''"
		}
		// Only the stored form proves a series differs; a series stored by
		// another writer with the raw value is kept for Matches to drop.
		if lit, ok := quoteString(StoredTagValue(m.Value)); ok {
			return key + " != " + lit
		}
		return ""
	case labels.MatchRegexp, labels.MatchNotRegexp:
		body, ok := promRegex(m.Value)
		if !ok {
			return ""
		}
		op := " =~ /"
		if m.Type == labels.MatchNotRegexp {
			op = " !~ /"
		}
		return "(" + key + op + body + "/ OR " + key + " =~ /" + encodedRegex + "/)"
	}
	return ""
}

// equalCondition compares a tag with a non-empty value, as a string if
// InfluxQL can carry it and as an exact regex otherwise.
func equalCondition(key, v string) string {
	if lit, ok := quoteString(v); ok {
		return key + " = " + lit
	}
	return key + " =~ /" + exactRegex(v) + "/"
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// orGroup joins alternatives with OR, in parentheses when there are
// several: AND binds tighter than OR in InfluxQL.
func orGroup(alts []string) string {
	switch len(alts) {
	case 0:
		return ""
	case 1:
		return alts[0]
	}
	return "(" + strings.Join(alts, " OR ") + ")"
}

// DiscoveryQuery returns the statement that lists every stored series
// that may match and has a sample in the time range:
//
//	SELECT first("value"::field), first("special"::field), first("h_schema"::field) FROM <from> WHERE <prefilter> AND time >= <start> AND time <= <end> GROUP BY *
//
// with the time range in nanoseconds, clamped to what InfluxDB can store.
// first() reads one point per field and series, where count() would read
// them all. InfluxDB answers null for a field a series lacks, leaves out
// series with none, and lists every tag key of the measurements read, ""
// where a series lacks it. Pass a row's value columns to ReadDiscovery.
// The result may hold series the matchers reject, never fewer: decode each
// with SeriesLabels and keep those Matches accepts. retentionPolicy ""
// means the database's default.
func (s *Selection) DiscoveryQuery(retentionPolicy string) string {
	var b strings.Builder
	b.WriteString(discoverySelect)
	s.from.appendTo(&b, retentionPolicy)
	s.appendWhere(&b)
	b.WriteString(" GROUP BY *")
	return b.String()
}

// DiscoveryColumns is the number of value columns of a DiscoveryQuery row,
// which ReadDiscovery reads.
const DiscoveryColumns = 3

// discoverySelect is the select list of DiscoveryQuery and
// DiscoveryQueryOf.
const discoverySelect = `SELECT first("` + fieldKey + `"::field), first("` + specialFieldKey + `"::field), first("` + histogramSchemaField + `"::field) FROM `

// appendWhere appends the WHERE clause of the selection: its tag
// conditions and time range.
func (s *Selection) appendWhere(b *strings.Builder) {
	b.WriteString(" WHERE ")
	if s.prefilter != "" {
		b.WriteString(s.prefilter)
		b.WriteString(" AND ")
	}
	b.WriteString(s.timeCond)
}

// MeasurementQuery returns the statement that selects the samples of every
// stored series of one measurement that may match, in the time range:
//
//	SELECT "value"::field, "special"::field FROM <rp>."<measurement>" WHERE <prefilter> AND time >= <start> AND time <= <end> GROUP BY *
//
// Its cost grows with the rows it returns, where FetchQuery's list costs
// InfluxDB the listed series times those of the measurement. Rows read as
// FetchQuery's; the result may hold series the matchers reject or new
// since discovery: match result series by their tags.
func (s *Selection) MeasurementQuery(retentionPolicy, storedMeasurement string) string {
	var b strings.Builder
	b.WriteString("SELECT " + sampleSelectList + " FROM ")
	measurementFrom(storedMeasurement).appendTo(&b, retentionPolicy)
	s.appendWhere(&b)
	b.WriteString(" GROUP BY *")
	return b.String()
}

// measurementFrom names one stored measurement, as an exact regex where
// InfluxQL cannot quote it.
func measurementFrom(storedMeasurement string) fromClause {
	if id, ok := quoteIdent(storedMeasurement); ok {
		return fromClause{idents: []string{id}}
	}
	return fromClause{regex: exactRegex(storedMeasurement)}
}

// FetchQuery returns the statement that selects the samples of the given
// stored series of one measurement in the time range, one result series
// per stored series:
//
//	SELECT "value"::field, "special"::field FROM <rp>."<measurement>" WHERE ((<series 1>) OR (<series 2>) ...) AND time >= <start> AND time <= <end> GROUP BY *
//
// Each series condition compares every tag key of the set, the empty
// string for keys the series lacks, so that no series also selects one
// with more tags. storedMeasurement and storedTags are as discovery
// returned them. Tag keys InfluxQL cannot quote are left out, and values
// it cannot quote compared by exactRegex, so the result may hold other
// series too: match result series by their tags. An empty storedTags
// selects nothing. Read each row with SampleValue.
func (s *Selection) FetchQuery(retentionPolicy, storedMeasurement string, storedTags []map[string]string) string {
	return s.fetchQuery(sampleSelectList, retentionPolicy, storedMeasurement, storedTags)
}

// HistogramFetchQuery is FetchQuery for native histogram points, selecting
// the fields HistogramColumns names, in order:
//
//	SELECT "h_count"::field, "h_count_special"::field, ..., "start_ts"::field FROM <rp>."<measurement>" WHERE ((<series 1>) OR ...) AND time >= <start> AND time <= <end> GROUP BY *
//
// Pass each row to DecodeHistogram. InfluxDB 1.6.7 leaves out rows whose
// selected fields are all null; a float sample point that comes back (with
// start_ts) has no h_schema, and DecodeHistogram says ok=false.
func (s *Selection) HistogramFetchQuery(retentionPolicy, storedMeasurement string, storedTags []map[string]string) string {
	return s.fetchQuery(histogramSelectList, retentionPolicy, storedMeasurement, storedTags)
}

// sampleSelectList and histogramSelectList are the select lists of
// FetchQuery and HistogramFetchQuery; the ::field qualifier keeps a tag of
// the same name (a label "value") out of the result.
var (
	sampleSelectList    = `"` + fieldKey + `"::field, "` + specialFieldKey + `"::field`
	histogramSelectList = fieldSelectList(HistogramColumns)
)

func fieldSelectList(keys []string) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"` + k + `"::field`)
	}
	return b.String()
}

func (s *Selection) fetchQuery(selectList, retentionPolicy, storedMeasurement string, storedTags []map[string]string) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(selectList)
	b.WriteString(" FROM ")
	measurementFrom(storedMeasurement).appendTo(&b, retentionPolicy)
	b.WriteString(" WHERE ")
	if len(storedTags) == 0 {
		b.WriteString("false AND ")
	} else if cond := seriesConditions(storedTags); cond != "" {
		b.WriteString(cond)
		b.WriteString(" AND ")
	}
	b.WriteString(s.timeCond)
	b.WriteString(" GROUP BY *")
	return b.String()
}

// seriesConditions returns (<series 1>) OR (<series 2>) ... in
// parentheses, or "" if no key can be compared.
func seriesConditions(storedTags []map[string]string) string {
	type tagKey struct{ key, ident string }
	var keys []tagKey
	seen := map[string]bool{}
	for _, tags := range storedTags {
		for k := range tags {
			if seen[k] {
				continue
			}
			seen[k] = true
			if id, ok := quoteIdent(k); ok {
				keys = append(keys, tagKey{k, id + "::tag"})
			}
		}
	}
	if len(keys) == 0 {
		return ""
	}
	slices.SortFunc(keys, func(a, b tagKey) int { return strings.Compare(a.key, b.key) })

	var b strings.Builder
	b.WriteByte('(')
	for i, tags := range storedTags {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for j, k := range keys {
			if j > 0 {
				b.WriteString(" AND ")
			}
			v := tags[k.key]
			if v == "" {
				b.WriteString(k.ident + " = ''")
			} else {
				b.WriteString(equalCondition(k.ident, v))
			}
		}
		b.WriteByte(')')
	}
	b.WriteByte(')')
	return b.String()
}

// Discovered is what one row of a DiscoveryQuery says of its series' samples
// in the time range.
type Discovered struct {
	// Specials: samples stored in specialFieldKey (NaN, ±Inf, stale
	// markers).
	Specials bool
	// Histograms: native histogram samples, read with HistogramFetchQuery.
	Histograms bool
}

// ReadDiscovery reads the value columns of one row of a DiscoveryQuery,
// in order, NaN for null.
func ReadDiscovery(firsts []float64) Discovered {
	present := func(i int) bool { return i < len(firsts) && !math.IsNaN(firsts[i]) }
	return Discovered{Specials: present(1), Histograms: present(2)}
}

// SampleValue reads the sample of one row of a FetchQuery: the `value`
// field when present (not NaN), else the float the `special` field encodes.
// value wins when a row has both, which Prometheus never sends.
func SampleValue(value, special float64) (float64, error) {
	if !math.IsNaN(value) {
		return value, nil
	}
	return SpecialValue(special)
}

// SeriesQuery returns the statement that lists, from InfluxDB's index, the
// stored series that may match, as series keys:
//
//	SHOW SERIES FROM <from> WHERE <prefilter> AND time >= <start> AND time <= <end>
//
// InfluxDB applies the time range by shard: the list holds every series
// with a sample in the range, and maybe others. Split each key with
// ParseSeriesKey, then decode and match it as a DiscoveryQuery row. It
// costs a fraction of DiscoveryQuery, which reads a point of every series.
func (s *Selection) SeriesQuery(retentionPolicy string) string {
	var b strings.Builder
	b.WriteString("SHOW SERIES FROM ")
	s.from.appendTo(&b, retentionPolicy)
	s.appendWhere(&b)
	return b.String()
}

// FieldKeysQuery returns the statement that lists the field keys and types
// of the measurements the selection may read, for FieldsReadable:
//
//	SHOW FIELD KEYS FROM <from>
func (s *Selection) FieldKeysQuery(retentionPolicy string) string {
	var b strings.Builder
	b.WriteString("SHOW FIELD KEYS FROM ")
	s.from.appendTo(&b, retentionPolicy)
	return b.String()
}

// FieldsReadable reads the field keys and types of one measurement (rows of
// FieldKeysQuery): ok when it has no native histograms and fieldKey is a
// float wherever it is, so that its series may be found with SeriesQuery
// and read with PromReadQuery, and with SpecialsQuery if specials. Other
// measurements need DiscoveryQueryOf and the /query reads.
func FieldsReadable(keys, types []string) (ok, specials bool) {
	for i, k := range keys {
		switch {
		case k == histogramSchemaField:
			return false, false
		case k == fieldKey && types[i] != "float":
			return false, false
		case k == specialFieldKey:
			specials = true
		}
	}
	return true, specials
}

// DiscoveryQueryOf is DiscoveryQuery over the given stored measurements
// only.
func (s *Selection) DiscoveryQueryOf(retentionPolicy string, storedMeasurements []string) string {
	var fc fromClause
	var regexes []string
	for _, m := range storedMeasurements {
		if id, ok := quoteIdent(m); ok {
			fc.idents = append(fc.idents, id)
		} else {
			regexes = append(regexes, exactRegex(m))
		}
	}
	var b strings.Builder
	b.WriteString(discoverySelect)
	if len(fc.idents) > 0 {
		fc.appendTo(&b, retentionPolicy)
	}
	if len(regexes) > 0 {
		if len(fc.idents) > 0 {
			b.WriteString(", ")
		}
		fromClause{regex: strings.Join(regexes, "|")}.appendTo(&b, retentionPolicy)
	}
	s.appendWhere(&b)
	b.WriteString(" GROUP BY *")
	return b.String()
}

// SpecialsQuery returns the statement that selects the special values (NaN,
// ±Inf, stale markers) of the series of one measurement that may match, in
// the time range:
//
//	SELECT "special"::field FROM <rp>."<measurement>" WHERE <prefilter> AND time >= <start> AND time <= <end> GROUP BY *
//
// Only series with such a sample come back; read each row's value with
// SpecialValue. A float at the same timestamp wins, as in FetchQuery.
func (s *Selection) SpecialsQuery(retentionPolicy, storedMeasurement string) string {
	var b strings.Builder
	b.WriteString(`SELECT "` + specialFieldKey + `"::field FROM `)
	measurementFrom(storedMeasurement).appendTo(&b, retentionPolicy)
	s.appendWhere(&b)
	b.WriteString(" GROUP BY *")
	return b.String()
}
