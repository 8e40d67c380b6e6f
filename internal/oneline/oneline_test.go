package oneline

import "testing"

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"one line", "field type conflict", "field type conflict"},
		{"trimmed", "  field type conflict \n", "field type conflict"},
		{"inner spaces kept", "a  b\tc", "a  b\tc"},
		{"lines", "unable to parse 'a'\nunable to parse 'b'\r\n", "unable to parse 'a'; unable to parse 'b'"},
		{"CR alone", "a\rb", "a; b"},
		{"lines trimmed, empty ones dropped", "a \n\n\r\n  b  \n \n c", "a; b; c"},
		{"after a colon", "yaml: unmarshal errors:\n  line 2: field x not found\n  line 3: field y not found", "yaml: unmarshal errors: line 2: field x not found; line 3: field y not found"},
		{"regexp quoting a newline", "error parsing regexp: missing closing ): `a\n(`", "error parsing regexp: missing closing ): `a; (`"},
		{"only breaks", "\r\n\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.in); got != tc.want {
				t.Fatalf("Of(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
