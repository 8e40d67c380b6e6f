package mapping

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// hostile are values that try to break out of a literal or the statement.
var hostile = []string{
	"", "plain", "it's", `say "hi"`, `C:\dir\`, `a\'b`, `\\`, `\`, "a/b", `a\/b`, `/`, `\/`,
	"two\nlines", "cr\rhere", "crlf\r\n", "nul\x00byte", "tab\there",
	"') OR 1=1 --", "'; DROP DATABASE x; --", `"; DROP DATABASE x`, "x/ OR /.*", "}{)(][",
	"-- comment", "/* c */", "~b64~eA", "😀 ünïcödé", "\u2028sep", "bad\xffutf8", "\xc3",
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range hostile {
		for _, q := range []struct {
			name  string
			quote func(string) (string, bool)
			kind  string
		}{{"string", quoteString, "string"}, {"ident", quoteIdent, "ident"}} {
			t.Run(q.name+"/"+s, func(t *testing.T) {
				lit, ok := q.quote(s)
				if wantOK := literalSafe(s); ok != wantOK {
					t.Fatalf("quote(%q) ok = %v, want %v", s, ok, wantOK)
				}
				if !ok {
					return
				}
				toks, err := modelTokenize(lit)
				if err != nil {
					t.Fatalf("literal %q does not scan: %v", lit, err)
				}
				if len(toks) != 1 || toks[0].kind != q.kind || toks[0].text != s {
					t.Fatalf("literal %q scans as %+v, want one %s %q", lit, toks, q.kind, s)
				}
			})
		}
	}
}

func TestLiteralSafe(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"", true}, {"a\nb", true}, {`'"\`, true}, {"😀", true},
		{"a\rb", false}, {"a\x00b", false}, {"a\xffb", false},
	} {
		if got := literalSafe(tc.s); got != tc.want {
			t.Errorf("literalSafe(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// scanRegexBody returns the regex InfluxDB compiles for /body/.
func scanRegexBody(t testing.TB, body string) string {
	t.Helper()
	toks, err := modelTokenize("=~ /" + body + "/")
	if err != nil || len(toks) != 2 || toks[1].kind != "regex" {
		t.Fatalf("regex literal /%s/ scans as %+v, %v", body, toks, err)
	}
	return toks[1].text
}

func TestPromRegex(t *testing.T) {
	for _, tc := range []struct {
		re       string
		want     string // body as written in the statement
		matching []string
		other    []string
	}{
		{"x", `^(?s:x)$`, []string{"x"}, []string{"", "xx", "ax"}},
		{"a.b", `^(?s:(?s:a.b))$`, []string{"axb", "a\nb"}, []string{"ab"}},
		{"x|", `^(?s:x|(?:))$`, []string{"x", ""}, []string{"y"}},
		{"a/b", `^(?s:a\/b)$`, []string{"a/b"}, []string{`a\/b`}},
		{`a\/b`, `^(?s:a\/b)$`, []string{"a/b"}, []string{`a\/b`}},
		{`a\\/b`, `^(?s:a\\\/b)$`, []string{`a\/b`}, []string{"a/b"}},
		{"two\nlines", `^(?s:two\nlines)$`, []string{"two\nlines"}, []string{"two"}},
		{"a\\\nb", `^(?s:a\nb)$`, []string{"a\nb"}, []string{`a\nb`}},
		{"cr\r", `^(?s:cr\r)$`, []string{"cr\r"}, []string{"cr\n"}},
		{"nul\x00", `^(?s:nul\x00)$`, []string{"nul\x00"}, []string{"nul"}},
		{`\Q/.\E`, `^(?s:\/\.)$`, []string{"/."}, []string{"/x"}},
		{"(?i)up", `^(?s:(?i:UP))$`, []string{"UP", "uP"}, []string{"upx"}},
		{`'\) OR 1=1 --`, `^(?s:'\) OR 1=1 --)$`, []string{"') OR 1=1 --"}, []string{""}},
	} {
		t.Run(tc.re, func(t *testing.T) {
			body, ok := promRegex(tc.re)
			if !ok {
				t.Fatalf("promRegex(%q) not ok", tc.re)
			}
			if body != tc.want {
				t.Errorf("promRegex(%q) = %s, want %s", tc.re, body, tc.want)
			}
			re := regexp.MustCompile(scanRegexBody(t, body))
			m := labels.MustNewMatcher(labels.MatchRegexp, "l", tc.re)
			for _, s := range append(tc.matching, tc.other...) {
				if got, want := re.MatchString(s), m.Matches(s); got != want {
					t.Errorf("InfluxDB regex on %q = %v, Prometheus = %v", s, got, want)
				}
			}
			for _, s := range tc.matching {
				if !m.Matches(s) {
					t.Errorf("test case wrong: Prometheus does not match %q", s)
				}
			}
		})
	}
	if _, ok := promRegex("a(b"); ok {
		t.Error("promRegex accepted an invalid regex")
	}
	if _, ok := promRegex("\xff|a"); ok {
		t.Error("promRegex accepted invalid UTF-8")
	}
}

func TestExactRegex(t *testing.T) {
	for _, s := range hostile {
		t.Run(s, func(t *testing.T) {
			re := regexp.MustCompile(scanRegexBody(t, exactRegex(s)))
			if !re.MatchString(s) {
				t.Errorf("exact regex for %q does not match it", s)
			}
			for _, other := range []string{s + "x", "x" + s, strings.ToUpper(s) + "!"} {
				if re.MatchString(other) {
					t.Errorf("exact regex for %q matches %q", s, other)
				}
			}
		})
	}
}

func TestNanoTime(t *testing.T) {
	for _, tc := range []struct {
		ms, want int64
	}{
		{0, 0},
		{1700000000000, 1700000000000000000},
		{-1, -1000000},
		{maxTimestampMs, maxTimestampMs * 1e6},
		{minTimestampMs, minTimestampMs * 1e6},
		{maxTimestampMs + 1, math.MaxInt64 - 1},
		{minTimestampMs - 1, math.MinInt64 + 2},
		{math.MaxInt64, math.MaxInt64 - 1},
		{math.MinInt64, math.MinInt64 + 2},
	} {
		if got := nanoTime(tc.ms); got != tc.want {
			t.Errorf("nanoTime(%d) = %d, want %d", tc.ms, got, tc.want)
		}
	}
}
