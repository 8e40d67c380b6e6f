package influxworker

import "testing"

func TestQuoteIdent(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"prometheus", `"prometheus"`},
		{"my db", `"my db"`},
		{"select", `"select"`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{`\"`, `"\\\""`},
		{"", `""`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := quoteIdent(tc.in); got != tc.want {
				t.Fatalf("quoteIdent(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}
