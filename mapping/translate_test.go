package mapping

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

func pm(t prompb.LabelMatcher_Type, name, value string) *prompb.LabelMatcher {
	return &prompb.LabelMatcher{Type: t, Name: name, Value: value}
}

const (
	eq  = prompb.LabelMatcher_EQ
	neq = prompb.LabelMatcher_NEQ
	re  = prompb.LabelMatcher_RE
	nre = prompb.LabelMatcher_NRE
)

func mustSelection(t testing.TB, ms ...*prompb.LabelMatcher) *Selection {
	t.Helper()
	s, err := NewSelection(&prompb.Query{StartTimestampMs: 1000, EndTimestampMs: 2000, Matchers: ms})
	if err != nil {
		t.Fatalf("NewSelection() error = %v", err)
	}
	return s
}

const timeRange = "time >= 1000000000 AND time <= 2000000000"

func TestDiscoveryQuery(t *testing.T) {
	for _, tc := range []struct {
		name string
		rp   string
		ms   []*prompb.LabelMatcher
		want string // between FROM and AND time
	}{
		{"metric name", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up")}, `"up" WHERE`},
		{"retention policy", "one week", []*prompb.LabelMatcher{pm(eq, "__name__", "up")}, `"one week"."up" WHERE`},
		{"quoted measurement", "", []*prompb.LabelMatcher{pm(eq, "__name__", `m"q\x`)}, `"m\"q\\x" WHERE`},
		{"encoded measurement also raw", "", []*prompb.LabelMatcher{pm(eq, "__name__", "#req")}, `"~b64~I3JlcQ", "#req" WHERE`},
		{"measurement with CR", "", []*prompb.LabelMatcher{pm(eq, "__name__", "a\rb")}, `/^(?:a\x0db)$|^(?:a\x0db)$/ WHERE`},
		{"equality wins over regex", "rp", []*prompb.LabelMatcher{pm(re, "__name__", "u.*"), pm(eq, "__name__", "up")}, `"rp"."up" WHERE`},
		{"name regex", "", []*prompb.LabelMatcher{pm(re, "__name__", "go_.*|a/b")}, `/^(?s:(?s:go_.*|a\/b))$|^~b64~/ WHERE`},
		{"name regex with rp", "rp", []*prompb.LabelMatcher{pm(re, "__name__", "up")}, `"rp"./^(?s:up)$|^~b64~/ WHERE`},
		{"name not equal reads all", "", []*prompb.LabelMatcher{pm(neq, "__name__", "up"), pm(eq, "job", "a")}, `/.*/ WHERE "job"::tag = 'a' AND`},
		{"name not regex reads all", "", []*prompb.LabelMatcher{pm(nre, "__name__", "up"), pm(eq, "job", "a")}, `/.*/ WHERE "job"::tag = 'a' AND`},
		{"no name", "", []*prompb.LabelMatcher{pm(eq, "job", "a")}, `/.*/ WHERE "job"::tag = 'a' AND`},
		{"equal", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(eq, "job", "it's")}, `"up" WHERE "job"::tag = 'it\'s' AND`},
		{"equal empty is absent", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(eq, "job", "")}, `"up" WHERE "job"::tag = '' AND`},
		{"not equal", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(neq, "job", "a")}, `"up" WHERE "job"::tag != 'a' AND`},
		{"not equal empty requires", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(neq, "job", "")}, `"up" WHERE "job"::tag != '' AND`},
		{"regex", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(re, "job", "a|b")}, `"up" WHERE ("job"::tag =~ /^(?s:[ab])$/ OR "job"::tag =~ /^~b64~/) AND`},
		{"not regex", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(nre, "job", "a/")}, `"up" WHERE ("job"::tag !~ /^(?s:a\/)$/ OR "job"::tag =~ /^~b64~/) AND`},
		{"label value", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(eq, "value", "v")}, `"up" WHERE "value"::tag = 'v' AND`},
		{"label time uses stored key", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(eq, "time", "t")}, `"up" WHERE "~b64~dGltZQ"::tag = 't' AND`},
		{"encoded key also raw", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(eq, "a\nb", "t")}, `"up" WHERE ("~b64~YQpi"::tag = 't' OR "a\nb"::tag = 't') AND`},
		{"encoded value also raw", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(eq, "msg", "a\nb")}, `"up" WHERE ("msg"::tag = '~b64~YQpi' OR "msg"::tag = 'a\nb') AND`},
		{"not equal encoded value", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(neq, "msg", "a\nb")}, `"up" WHERE "msg"::tag != '~b64~YQpi' AND`},
		{"value with CR as regex", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(eq, "msg", "a\rb")}, `"up" WHERE "msg"::tag =~ /^(?:a\x0db)$/ AND`},
		{"not equal with CR dropped", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(neq, "msg", "a\rb")}, `"up" WHERE`},
		{"key with NUL dropped", "", []*prompb.LabelMatcher{pm(eq, "__name__", "up"), pm(eq, "a\x00", "x")}, `"up" WHERE`},
		{"several", "", []*prompb.LabelMatcher{pm(eq, "job", "a"), pm(re, "__name__", "up"), pm(neq, "env", "")}, `/^(?s:up)$|^~b64~/ WHERE "job"::tag = 'a' AND "env"::tag != '' AND`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustSelection(t, tc.ms...).DiscoveryQuery(tc.rp)
			want := `SELECT first("value"::field), first("special"::field), first("h_schema"::field) FROM ` + tc.want + " " + timeRange + " GROUP BY *"
			if got != want {
				t.Errorf("DiscoveryQuery()\n got %s\nwant %s", got, want)
			}
			checkStatement(t, got)
		})
	}
}

func TestTimeRangeClamped(t *testing.T) {
	s, err := NewSelection(&prompb.Query{StartTimestampMs: math.MinInt64, EndTimestampMs: math.MaxInt64, Matchers: []*prompb.LabelMatcher{pm(eq, "__name__", "up")}})
	if err != nil {
		t.Fatal(err)
	}
	want := `SELECT first("value"::field), first("special"::field), first("h_schema"::field) FROM "up" WHERE time >= -9223372036854775806 AND time <= 9223372036854775806 GROUP BY *`
	if got := s.DiscoveryQuery(""); got != want {
		t.Errorf("DiscoveryQuery()\n got %s\nwant %s", got, want)
	}
	if s.Start() != math.MinInt64 || s.End() != math.MaxInt64 {
		t.Errorf("Start(), End() = %d, %d", s.Start(), s.End())
	}
}

func TestFetchQuery(t *testing.T) {
	s := mustSelection(t, pm(eq, "__name__", "up"))
	for _, tc := range []struct {
		name        string
		rp, m       string
		tags        []map[string]string
		wantFromWhe string
	}{
		{"one series", "", "up", []map[string]string{{"job": "a"}},
			`"up" WHERE (("job"::tag = 'a')) AND`},
		{"absent keys compare empty", "rp", "up", []map[string]string{{"job": "a", "l": "x"}, {"job": "b", "l": "", "__name__": "up"}},
			`"rp"."up" WHERE (("__name__"::tag = '' AND "job"::tag = 'a' AND "l"::tag = 'x') OR ("__name__"::tag = 'up' AND "job"::tag = 'b' AND "l"::tag = '')) AND`},
		{"no tags", "", `m"x`, []map[string]string{{}},
			`"m\"x" WHERE`},
		{"empty set selects nothing", "", "up", nil,
			`"up" WHERE false AND`},
		{"hostile values", "", "up", []map[string]string{{"value": "') OR 1=1 --", "k\"": "a\\", "c": "x\ry"}},
			`"up" WHERE (("c"::tag =~ /^(?:x\x0dy)$/ AND "k\""::tag = 'a\\' AND "value"::tag = '\') OR 1=1 --')) AND`},
		{"measurement with NUL", "", "a\x00/", []map[string]string{{"job": "a"}},
			`/^(?:a\x00\/)$/ WHERE (("job"::tag = 'a')) AND`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.FetchQuery(tc.rp, tc.m, tc.tags)
			want := `SELECT "value"::field, "special"::field FROM ` + tc.wantFromWhe + " " + timeRange + " GROUP BY *"
			if got != want {
				t.Errorf("FetchQuery()\n got %s\nwant %s", got, want)
			}
			checkStatement(t, got)
		})
	}
}

func TestHistogramFetchQuery(t *testing.T) {
	s := mustSelection(t, pm(eq, "__name__", "up"))
	got := s.HistogramFetchQuery("rp", "up", []map[string]string{{"job": "a", "value": "v"}, {"job": "b"}})
	want := `SELECT "h_count"::field, "h_count_special"::field, "h_sum"::field, "h_sum_special"::field, ` +
		`"h_zero_count"::field, "h_zero_count_special"::field, "h_zero_threshold"::field, "h_zero_threshold_special"::field, ` +
		`"h_schema"::field, "h_reset_hint"::field, "h_float"::field, "h_pos_spans"::field, "h_pos"::field, ` +
		`"h_neg_spans"::field, "h_neg"::field, "h_custom_values"::field, "start_ts"::field ` +
		`FROM "rp"."up" WHERE (("job"::tag = 'a' AND "value"::tag = 'v') OR ("job"::tag = 'b' AND "value"::tag = '')) AND ` +
		timeRange + " GROUP BY *"
	if got != want {
		t.Errorf("HistogramFetchQuery()\n got %s\nwant %s", got, want)
	}
	checkStatement(t, got)
	// Same series conditions as FetchQuery, only the select list differs.
	tags := []map[string]string{{"job": "a"}}
	_, fetchRest, _ := strings.Cut(s.FetchQuery("", "up", tags), " FROM ")
	_, histRest, _ := strings.Cut(s.HistogramFetchQuery("", "up", tags), " FROM ")
	if fetchRest != histRest {
		t.Errorf("HistogramFetchQuery FROM ... = %q, FetchQuery FROM ... = %q", histRest, fetchRest)
	}
}

// checkStatement asserts that q scans cleanly and keeps the shape
// SELECT ... FROM ... WHERE ... GROUP BY * whatever the literals hold.
func checkStatement(t testing.TB, q string) []modelToken {
	t.Helper()
	toks, err := modelTokenize(q)
	if err != nil {
		t.Fatalf("statement does not scan: %v\n%s", err, q)
	}
	var words []string
	for _, tok := range toks {
		if tok.kind == "word" {
			words = append(words, strings.ToUpper(tok.text))
		}
	}
	// The only bare words are keywords and qualifiers in fixed places.
	allowed := map[string]bool{"SELECT": true, "FIRST": true, "FIELD": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "TAG": true, "TIME": true, "GROUP": true, "BY": true, "FALSE": true}
	counts := map[string]int{}
	for _, w := range words {
		if !allowed[w] {
			t.Fatalf("unexpected bare word %q in %s", w, q)
		}
		counts[w]++
	}
	for _, w := range []string{"SELECT", "FROM", "WHERE", "GROUP", "BY"} {
		if counts[w] != 1 {
			t.Fatalf("%s appears %d times in %s", w, counts[w], q)
		}
	}
	n := len(toks)
	if n < 3 || toks[n-3].text != "GROUP" || toks[n-2].text != "BY" || toks[n-1].kind != "*" {
		t.Fatalf("statement does not end with GROUP BY *: %s", q)
	}
	if toks[0].text != "SELECT" {
		t.Fatalf("statement does not start with SELECT: %s", q)
	}
	return toks
}

// literalsAfter returns the literal tokens that follow key::tag <op> in toks.
func literalsAfter(toks []modelToken, key string) []modelToken {
	var lits []modelToken
	for i := 0; i+4 < len(toks); i++ {
		if toks[i].kind == "ident" && toks[i].text == key && toks[i+1].kind == "::" && toks[i+2].text == "tag" {
			lits = append(lits, toks[i+4])
		}
	}
	return lits
}

func TestInjection(t *testing.T) {
	for _, v := range hostile {
		for _, typ := range []prompb.LabelMatcher_Type{eq, neq, re, nre} {
			t.Run(typ.String()+"/"+v, func(t *testing.T) {
				checkTranslation(t, typ, "l", v)
				checkTranslation(t, typ, v, "x")
			})
		}
	}
}

// checkTranslation asserts that the discovery statement for {__name__=~v,
// name <typ> value} scans as intended: the shape is fixed and every literal
// compared with the tag is the stored or raw value, or the regex Prometheus
// runs (or the one for encoded values).
func checkTranslation(t testing.TB, typ prompb.LabelMatcher_Type, name, value string) {
	t.Helper()
	if name == "" || name == metricNameLabel {
		return
	}
	s, err := NewSelection(&prompb.Query{Matchers: []*prompb.LabelMatcher{pm(re, "__name__", value+"|up"), pm(typ, name, value), pm(eq, "job", "x")}})
	if err != nil {
		return // refused like Prometheus refuses it
	}
	q := s.DiscoveryQuery(value)
	toks := checkStatement(t, q)
	m := s.Matchers()[1]
	for _, key := range []string{StoredTagKey(name), name} {
		for _, lit := range literalsAfter(toks, key) {
			switch {
			case lit.kind == "string":
				if lit.text != "" && lit.text != value && lit.text != StoredTagValue(value) {
					t.Fatalf("string literal %q for value %q in %s", lit.text, value, q)
				}
			case lit.kind == "regex" && lit.text == encodedRegex:
			case lit.kind == "regex" && (m.Type == labels.MatchRegexp || m.Type == labels.MatchNotRegexp):
				re := regexp.MustCompile(lit.text)
				for _, probe := range []string{"", value, "x", "up", "a/b", "\n"} {
					// InfluxDB runs the regex itself; the operator negates it.
					if re.MatchString(probe) != (m.Matches(probe) == (m.Type == labels.MatchRegexp)) {
						t.Fatalf("regex %q and matcher %s disagree on %q in %s", lit.text, m, probe, q)
					}
				}
			case lit.kind == "regex":
				re := regexp.MustCompile(lit.text)
				if !re.MatchString(value) && !re.MatchString(StoredTagValue(value)) {
					t.Fatalf("exact regex %q does not match %q in %s", lit.text, value, q)
				}
			default:
				t.Fatalf("unexpected %s %q after %q::tag in %s", lit.kind, lit.text, key, q)
			}
		}
	}
	if !slices.ContainsFunc(literalsAfter(toks, "job"), func(tok modelToken) bool { return tok.text == "x" }) {
		t.Fatalf("condition on job lost in %s", q)
	}
}

func FuzzTranslate(f *testing.F) {
	for _, v := range hostile {
		f.Add(uint8(0), "l", v)
		f.Add(uint8(2), v, "a|b")
	}
	f.Fuzz(func(t *testing.T, typ uint8, name, value string) {
		checkTranslation(t, prompb.LabelMatcher_Type(typ%4), name, value)
		s, err := NewSelection(&prompb.Query{Matchers: []*prompb.LabelMatcher{pm(eq, "__name__", value)}})
		if err != nil {
			return
		}
		checkStatement(t, s.FetchQuery(name, value, []map[string]string{{name: value, "job": value}, {"job": name}}))
		checkStatement(t, s.DiscoveryQuery(name))
	})
}

func BenchmarkDiscoveryQuery(b *testing.B) {
	s := mustSelection(b, pm(eq, "__name__", "node_cpu_seconds_total"), pm(eq, "job", "node"), pm(re, "mode", "idle|user"), pm(neq, "cpu", ""))
	b.ReportAllocs()
	b.SetBytes(int64(len(s.DiscoveryQuery("autogen"))))
	for b.Loop() {
		_ = s.DiscoveryQuery("autogen")
	}
}

func TestReadDiscovery(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		firsts []float64
		want   Discovered
	}{
		{[]float64{5, nan, nan}, Discovered{}},
		{[]float64{5, 2, nan}, Discovered{Specials: true}},
		{[]float64{nan, 1, 4}, Discovered{Specials: true, Histograms: true}},
		{[]float64{nan, nan, 0}, Discovered{Histograms: true}}, // schema 0 is a histogram
		{[]float64{nan, nan}, Discovered{}},
	} {
		if got := ReadDiscovery(tc.firsts); got != tc.want {
			t.Errorf("ReadDiscovery(%v) = %+v, want %+v", tc.firsts, got, tc.want)
		}
	}
}

// TestMeasurementQuery: the discovery's conditions and time range over one
// stored measurement, quoted or as an exact regex.
func TestMeasurementQuery(t *testing.T) {
	for _, tc := range []struct {
		name, rp, m string
		ms          []*prompb.LabelMatcher
		want        string // after SELECT ... FROM
	}{
		{"name only", "", "up", []*prompb.LabelMatcher{pm(eq, "__name__", "up")}, `"up" WHERE ` + timeRange},
		{"retention policy", "one week", "up", []*prompb.LabelMatcher{pm(eq, "__name__", "up")}, `"one week"."up" WHERE ` + timeRange},
		{"prefilter", "", "up", []*prompb.LabelMatcher{pm(re, "__name__", "u.*"), pm(eq, "job", "it's")}, `"up" WHERE "job"::tag = 'it\'s' AND ` + timeRange},
		{"measurement with CR", "", "a\rb", []*prompb.LabelMatcher{pm(re, "__name__", "a.*")}, `/^(?:a\x0db)$/ WHERE ` + timeRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustSelection(t, tc.ms...).MeasurementQuery(tc.rp, tc.m)
			want := `SELECT "value"::field, "special"::field FROM ` + tc.want + " GROUP BY *"
			if got != want {
				t.Errorf("MeasurementQuery()\n got %s\nwant %s", got, want)
			}
			checkStatement(t, got)
		})
	}
}

func TestSampleValue(t *testing.T) {
	stale := math.Float64frombits(0x7ff0000000000002)
	for _, tc := range []struct {
		value, special float64
		want           uint64
		wantErr        bool
	}{
		{1.5, math.NaN(), math.Float64bits(1.5), false},
		{1.5, 3, math.Float64bits(1.5), false}, // value wins
		{math.NaN(), 3, math.Float64bits(stale), false},
		{math.NaN(), -1, math.Float64bits(math.Inf(-1)), false},
		{math.NaN(), 0.5, 0, true},
		{math.NaN(), math.NaN(), 0, true},
	} {
		got, err := SampleValue(tc.value, tc.special)
		if (err != nil) != tc.wantErr || err == nil && math.Float64bits(got) != tc.want {
			t.Errorf("SampleValue(%v, %v) = %v (%x), %v", tc.value, tc.special, got, math.Float64bits(got), err)
		}
	}
}

// TestIndexQueries: the statements of reads through the index and
// /api/v1/prom/read share the selection's FROM and WHERE.
func TestIndexQueries(t *testing.T) {
	s := mustSelection(t, pm(re, "__name__", "up|a\rb"), pm(eq, "job", "a"))
	where := ` WHERE "job"::tag = 'a' AND ` + timeRange
	for _, tc := range []struct{ got, want string }{
		{s.SeriesQuery("rp"), `SHOW SERIES FROM "rp"./^(?s:up|a\rb)$|^~b64~/` + where},
		{s.FieldKeysQuery(""), `SHOW FIELD KEYS FROM /^(?s:up|a\rb)$|^~b64~/`},
		{s.SpecialsQuery("", "up"), `SELECT "special"::field FROM "up"` + where + " GROUP BY *"},
		{s.DiscoveryQueryOf("rp", []string{"up", "a\rb"}), discoverySelect + `"rp"."up", "rp"./^(?:a\x0db)$/` + where + " GROUP BY *"},
		{s.DiscoveryQueryOf("", []string{"a\rb", "c\rd"}), discoverySelect + `/^(?:a\x0db)$|^(?:c\x0dd)$/` + where + " GROUP BY *"},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
		if !strings.HasPrefix(tc.got, "SHOW") {
			checkStatement(t, tc.got)
		}
	}
}

func TestFieldsReadable(t *testing.T) {
	for _, tc := range []struct {
		keys, types  []string
		ok, specials bool
	}{
		{[]string{"value"}, []string{"float"}, true, false},
		{[]string{"special", "value"}, []string{"float", "float"}, true, true},
		{[]string{"special"}, []string{"float"}, true, true},
		{[]string{"value"}, []string{"integer"}, false, false},
		{[]string{"value", "value"}, []string{"float", "integer"}, false, false},
		{[]string{"h_count", "h_schema", "value"}, []string{"float", "integer", "float"}, false, false},
		{[]string{"start_ts", "value"}, []string{"integer", "float"}, true, false},
	} {
		if ok, specials := FieldsReadable(tc.keys, tc.types); ok != tc.ok || specials != tc.specials {
			t.Errorf("FieldsReadable(%v, %v) = %v, %v; want %v, %v", tc.keys, tc.types, ok, specials, tc.ok, tc.specials)
		}
	}
}
