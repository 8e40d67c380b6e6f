package influxtest

import "testing"

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{
		"db":      `"db"`,
		`a"b`:     `"a\"b"`,
		`a\b`:     `"a\\b"`,
		"with sp": `"with sp"`,
		`\"`:      `"\\\""`,
	} {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
}
