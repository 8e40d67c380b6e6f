package influxworker

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"TOKEN": "t0k", "EMPTY": "", "A_1": "a"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		in, want, wantErr string
	}{
		{in: "plain", want: "plain"},
		{in: "", want: ""},
		{in: "${TOKEN}", want: "t0k"},
		{in: "x${TOKEN}y${A_1}z", want: "xt0kyaz"},
		{in: "${EMPTY}", want: ""},
		{in: "pa$$word", want: "pa$word"},
		{in: "$$${TOKEN}$$", want: "$t0k$"},
		{in: "$${TOKEN}", want: "${TOKEN}"},
		{in: "${MISSING}", wantErr: `environment variable "MISSING" is not set`},
		{in: "pa$word", wantErr: "$ at offset 2 must start ${NAME} or $$ (a literal $)"},
		{in: "end$", wantErr: "$ at offset 3 must start ${NAME} or $$ (a literal $)"},
		{in: "${TOKEN", wantErr: "unterminated ${ in the value (write $$ for a literal $)"},
		{in: "ab${}", wantErr: "invalid environment variable name in the ${...} at offset 2"},
		{in: "${se cret}", wantErr: "invalid environment variable name in the ${...} at offset 0"},
		{in: "${1X}", wantErr: "invalid environment variable name in the ${...} at offset 0"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := expandEnv(tc.in, lookup)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("expandEnv(%q) = %q, %v, want error %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("expandEnv(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzExpandEnv checks that expandEnv never panics, that text without $
// is returned unchanged and that doubling every $ of a text escapes it.
func FuzzExpandEnv(f *testing.F) {
	for _, s := range []string{"", "abc", "${X}", "$$", "a$b", "${", "${}", "${X}${Y}$$", "€${X}"} {
		f.Add(s)
	}
	lookup := func(k string) (string, bool) { return "<" + k + ">", k != "UNSET" }
	f.Fuzz(func(t *testing.T, s string) {
		got, err := expandEnv(s, lookup)
		if !strings.Contains(s, "$") && (err != nil || got != s) {
			t.Fatalf("expandEnv(%q) = %q, %v, want it unchanged", s, got, err)
		}
		escaped, err := expandEnv(strings.ReplaceAll(s, "$", "$$"), lookup)
		if err != nil || escaped != s {
			t.Fatalf("escaped %q expands to %q, %v", s, escaped, err)
		}
	})
}

func TestConfigExpandsSecrets(t *testing.T) {
	t.Setenv("PROMFLUX_TEST_TOKEN", "tok-from-env")
	t.Setenv("PROMFLUX_TEST_PW", "pw$from-env")
	for _, tc := range []struct {
		name, yaml        string
		password, token   string
		database, wantErr string
	}{
		{
			name:  "token",
			yaml:  "name: n\nurl: http://h\ndatabase: d\ntoken: ${PROMFLUX_TEST_TOKEN}\n",
			token: "tok-from-env", database: "d",
		},
		{
			name:     "password with literal $ and a variable's $ kept",
			yaml:     "name: n\nurl: http://h\ndatabase: d\nusername: u\npassword: a$$b${PROMFLUX_TEST_PW}\n",
			password: "a$bpw$from-env", database: "d",
		},
		{
			name:     "other keys are literal",
			yaml:     "name: n\nurl: http://h\ndatabase: ${PROMFLUX_TEST_TOKEN}\n",
			database: "${PROMFLUX_TEST_TOKEN}",
		},
		{
			name:    "unset variable",
			yaml:    "name: n\nurl: http://h\ndatabase: d\ntoken: x${PROMFLUX_TEST_UNSET}\n",
			wantErr: `database "n": token: environment variable "PROMFLUX_TEST_UNSET" is not set`,
		},
		{
			name:    "lone $",
			yaml:    "name: n\nurl: http://h\ndatabase: d\nusername: u\npassword: pa$word\n",
			wantErr: `database "n": password: $ at offset 2 must start ${NAME} or $$ (a literal $)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			err := yaml.UnmarshalStrict([]byte(tc.yaml), &c)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(c.Password) != tc.password || string(c.Token) != tc.token || c.Database != tc.database {
				t.Fatalf("password %q token %q database %q", c.Password, c.Token, c.Database)
			}
		})
	}
}
