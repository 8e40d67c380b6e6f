package mapping

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

var positionNames = map[string]position{
	"measurement": posMeasurement,
	"tagkey":      posTagKey,
	"tagvalue":    posTagValue,
}

func decodeAt(pos position, s string) (string, error) {
	switch pos {
	case posMeasurement:
		return DecodeMeasurement(s)
	case posTagKey:
		return DecodeTagKey(s)
	}
	return DecodeTagValue(s)
}

func storedAt(pos position, s string) string {
	switch pos {
	case posMeasurement:
		return StoredMeasurement(s)
	case posTagKey:
		return StoredTagKey(s)
	}
	return StoredTagValue(s)
}

// TestStoredGolden checks the escaped or encoded form of each case in
// testdata/stored.txt and that decoding the unescaped form restores the
// input.
func TestStoredGolden(t *testing.T) {
	f, err := os.Open("testdata/stored.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var posName, in, want string
		if _, err := fmt.Sscanf(line, "%s %q %q", &posName, &in, &want); err != nil {
			t.Fatalf("testdata/stored.txt:%d: %v", lineNo, err)
		}
		pos, ok := positionNames[posName]
		if !ok {
			t.Fatalf("testdata/stored.txt:%d: unknown position %q", lineNo, posName)
		}
		n++
		t.Run(fmt.Sprintf("%d_%s_%q", lineNo, posName, in), func(t *testing.T) {
			if got := string(appendStored(nil, in, pos)); got != want {
				t.Errorf("appendStored(%q) = %q, want %q", in, got, want)
			}
			stored := storedAt(pos, in)
			if got := string(appendEscaped(nil, stored, pos)); got != want && !needsEncoding(in, pos) {
				t.Errorf("escaped Stored*(%q) = %q, want %q", in, got, want)
			}
			got, err := decodeAt(pos, stored)
			if err != nil || got != in {
				t.Errorf("decode(%q) = %q, %v; want %q", stored, got, err, in)
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 30 {
		t.Fatalf("only %d golden cases read", n)
	}
}

func TestAppendBase64URLMatchesStdlib(t *testing.T) {
	for _, s := range []string{"", "a", "ab", "abc", "abcd", "\xff\xfe\xfd\x00", "time", strings.Repeat("é", 100)} {
		want := base64.RawURLEncoding.EncodeToString([]byte(s))
		if got := string(appendBase64URL(nil, s)); got != want {
			t.Errorf("appendBase64URL(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, stored string
	}{
		{"bad alphabet", encodedPrefix + "a+b/"},
		{"padding", encodedPrefix + "YQ=="},
		{"impossible length", encodedPrefix + "Y"},
		{"non-zero trailing bits", encodedPrefix + "YR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for pos := posMeasurement; pos <= posTagValue; pos++ {
				got, err := decodeAt(pos, tc.stored)
				if !errors.Is(err, errInvalidEncoding) {
					t.Errorf("decode(%q) = %q, %v; want errInvalidEncoding", tc.stored, got, err)
				}
			}
		})
	}
}

// TestNeedsEncodingReasons pins the rule per position with one case per
// clause, so that a change to the rule shows up as a named failure.
func TestNeedsEncodingReasons(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want [3]bool // measurement, tag key, tag value
	}{
		{"plain", "abc", [3]bool{false, false, false}},
		{"empty", "", [3]bool{false, false, false}},
		{"prefix", encodedPrefix + "x", [3]bool{true, true, true}},
		{"newline", "a\nb", [3]bool{true, true, true}},
		{"trailing backslash", `a\`, [3]bool{true, true, true}},
		{"backslash comma", `a\,b`, [3]bool{true, true, true}},
		{"backslash space", `a\ b`, [3]bool{true, true, true}},
		{"backslash equals", `a\=b`, [3]bool{true, true, true}},
		{"backslash quote", `a\"b`, [3]bool{true, false, false}},
		{"backslash letter", `a\b`, [3]bool{false, false, false}},
		{"double backslash", `a\\b`, [3]bool{false, false, false}},
		{"leading hash", "#a", [3]bool{true, false, false}},
		{"leading tab", "\ta", [3]bool{true, false, false}},
		{"leading NUL", "\x00a", [3]bool{true, false, false}},
		{"time", "time", [3]bool{false, true, false}},
		{"value", "value", [3]bool{false, false, false}},
		{"carriage return", "a\rb", [3]bool{false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for pos := posMeasurement; pos <= posTagValue; pos++ {
				if got := needsEncoding(tc.in, pos); got != tc.want[pos] {
					t.Errorf("needsEncoding(%q, %d) = %v, want %v", tc.in, pos, got, tc.want[pos])
				}
			}
		})
	}
}

func FuzzStoredRoundTrip(f *testing.F) {
	for _, s := range []string{"", "up", "a\\", "a\nb", "~b64~YQ", "time", "#x", "a\\,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for pos := posMeasurement; pos <= posTagValue; pos++ {
			stored := storedAt(pos, s)
			got, err := decodeAt(pos, stored)
			if err != nil || got != s {
				t.Fatalf("position %d: decode(%q) = %q, %v; want %q", pos, stored, got, err, s)
			}
			if needsEncoding(stored, pos) && stored == s {
				t.Fatalf("position %d: %q is stored as itself but needs encoding", pos, s)
			}
		}
	})
}

// TestIsPlainEveryByteAndPlace checks isPlain, which looks at four bytes
// at a time, against the table: every byte value at every place of
// strings of 1 to 12 bytes, in a group of four and in the rest.
func TestIsPlainEveryByteAndPlace(t *testing.T) {
	for n := 1; n <= 12; n++ {
		for at := 0; at < n; at++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", n))
				b[at] = byte(c)
				if got, want := isPlain(string(b)), plainByte[c] == 1; got != want {
					t.Fatalf("isPlain(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
}
