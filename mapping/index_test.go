package mapping

import "testing"

func TestTagKeysQuery(t *testing.T) {
	for rp, want := range map[string]string{
		"":         `SHOW TAG KEYS FROM /.*/`,
		"one week": `SHOW TAG KEYS FROM "one week"./.*/`,
	} {
		if got := TagKeysQuery(rp); got != want {
			t.Errorf("TagKeysQuery(%q) = %s, want %s", rp, got, want)
		}
		if _, err := modelTokenize(want); err != nil {
			t.Errorf("%s does not scan: %v", want, err)
		}
	}
}

func TestTagValuesQuery(t *testing.T) {
	for _, tc := range []struct{ rp, name, want string }{
		{"", "job", `SHOW TAG VALUES FROM /.*/ WITH KEY = "job"`},
		{"rp", "job", `SHOW TAG VALUES FROM "rp"./.*/ WITH KEY = "job"`},
		{"", `it's "q"`, `SHOW TAG VALUES FROM /.*/ WITH KEY = "it\'s \"q\""`},
		{"", "time", `SHOW TAG VALUES FROM /.*/ WITH KEY = "~b64~dGltZQ"`},
		{"", "a\nb", `SHOW TAG VALUES FROM /.*/ WITH KEY IN ("~b64~YQpi", "a\nb")`},
		{"", "~b64~x", `SHOW TAG VALUES FROM /.*/ WITH KEY IN ("~b64~fmI2NH54", "~b64~x")`},
		{"", "a\rb", `SHOW TAG VALUES FROM /.*/ WITH KEY =~ /^(?:a\x0db)$/`},
		{"", "a\rb\\", `SHOW TAG VALUES FROM /.*/ WITH KEY =~ /^(?:~b64~YQ1iXA)$|^(?:a\x0db\\)$/`},
	} {
		got := TagValuesQuery(tc.rp, tc.name)
		if got != tc.want {
			t.Errorf("TagValuesQuery(%q, %q)\n got %s\nwant %s", tc.rp, tc.name, got, tc.want)
		}
		if _, err := modelTokenize(got); err != nil {
			t.Errorf("%s does not scan: %v", got, err)
		}
	}
}

func TestBookkeeping(t *testing.T) {
	if !Bookkeeping("promflux_metadata") || Bookkeeping("up") || Bookkeeping(StoredMeasurement("promflux_metadata ")) {
		t.Error("Bookkeeping is true for promflux_metadata alone")
	}
}
