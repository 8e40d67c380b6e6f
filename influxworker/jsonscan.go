package influxworker

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// The JSON scanner of the stream decoder: a parser over one chunk object
// in memory, with the few value kinds InfluxDB's answers hold, that
// decodes in place without reflection.

// parseError is a syntax error at byte at of an object.
type parseError struct {
	at  int
	msg string
}

func (e *parseError) Error() string { return fmt.Sprintf("byte %d: %s", e.at, e.msg) }

// parser reads the JSON value b from position i. Every method checks the
// bounds: peek returns 0 at the end, which no JSON token starts with.
type parser struct {
	b []byte
	i int
}

func (p *parser) fail(format string, args ...any) error {
	return &parseError{at: p.i, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *parser) space() {
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

func (p *parser) expect(c byte) error {
	if p.peek() != c {
		return p.unexpected(fmt.Sprintf("%q", c))
	}
	p.i++
	return nil
}

func (p *parser) unexpected(want string) error {
	if p.i >= len(p.b) {
		return p.fail("unexpected end of chunk, want %s", want)
	}
	return p.fail("found %q, want %s", p.b[p.i], want)
}

// members calls member with the key of every member of an object, after
// the colon; member must consume the value.
func (p *parser) members(member func(key []byte) error) error {
	p.space()
	if err := p.expect('{'); err != nil {
		return err
	}
	p.space()
	if p.peek() == '}' {
		p.i++
		return nil
	}
	for {
		p.space()
		key, err := p.stringBytes()
		if err != nil {
			return err
		}
		p.space()
		if err := p.expect(':'); err != nil {
			return err
		}
		p.space()
		if err := member(key); err != nil {
			return err
		}
		p.space()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.unexpected("',' or '}'")
		}
	}
}

// elements calls element for every element of an array; element must
// consume it.
func (p *parser) elements(element func() error) error {
	p.space()
	if err := p.expect('['); err != nil {
		return err
	}
	p.space()
	if p.peek() == ']' {
		p.i++
		return nil
	}
	for {
		p.space()
		if err := element(); err != nil {
			return err
		}
		p.space()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return p.unexpected("',' or ']'")
		}
	}
}

// nullableMembers is members that also accepts null.
func (p *parser) nullableMembers(member func(key []byte) error) error {
	if p.peek() == 'n' {
		return p.literal("null")
	}
	return p.members(member)
}

// nullableElements is elements that also accepts null.
func (p *parser) nullableElements(element func() error) error {
	if p.peek() == 'n' {
		return p.literal("null")
	}
	return p.elements(element)
}

func (p *parser) literal(lit string) error {
	if len(p.b)-p.i < len(lit) || string(p.b[p.i:p.i+len(lit)]) != lit {
		return p.unexpected(lit)
	}
	p.i += len(lit)
	return nil
}

func (p *parser) boolean() (bool, error) {
	if p.peek() == 't' {
		return true, p.literal("true")
	}
	return false, p.literal("false")
}

// scanString returns the bytes between the quotes of a string and whether
// they need decoding (escapes or non-ASCII bytes).
func (p *parser) scanString() (raw []byte, complex bool, err error) {
	if err := p.expect('"'); err != nil {
		return nil, false, err
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], complex, nil
		case c == '\\':
			complex = true
			p.i++
		case c < 0x20:
			return nil, false, p.fail("control character %q in string", c)
		case c >= utf8.RuneSelf:
			complex = true
		}
		p.i++
	}
	return nil, false, p.unexpected(`'"'`)
}

// stringBytes decodes a string. Strings with escapes or non-ASCII text,
// rare in InfluxDB's answers, are decoded by encoding/json, so that they
// read exactly as with Query; the others are returned in place.
func (p *parser) stringBytes() ([]byte, error) {
	start := p.i
	raw, complex, err := p.scanString()
	if err != nil || !complex {
		return raw, err
	}
	s, err := p.unquote(start)
	return []byte(s), err
}

// string decodes a string, through intern unless it is nil.
func (p *parser) string(intern map[string]string) (string, error) {
	b, err := p.stringBytes()
	if err != nil {
		return "", err
	}
	if intern == nil {
		return string(b), nil
	}
	return internString(intern, b), nil
}

// internString returns b as a string, the same string for the same bytes
// as long as the table is not full, so that the names, tag keys and values
// repeated in every chunk are not allocated again.
func internString(intern map[string]string, b []byte) string {
	if s, ok := intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(intern) >= maxInternedStrings {
		clear(intern)
	}
	intern[s] = s
	return s
}

// cell decodes a value cell: a number as by number, a boolean as 1 or 0,
// null as NaN. A string is NaN and isText, and is left to text, which
// needs the string before it in the column.
func (p *parser) cell() (v float64, null, isText bool, err error) {
	switch c := p.peek(); {
	case c == 'n':
		return math.NaN(), true, false, p.literal("null")
	case c == '"':
		return math.NaN(), false, true, nil
	case c == 't':
		return 1, false, false, p.literal("true")
	case c == 'f':
		return 0, false, false, p.literal("false")
	case c == '-' || c >= '0' && c <= '9':
		v, err = p.number()
		return v, false, false, err
	default:
		return 0, false, false, p.unexpected("a number, string, boolean or null")
	}
}

// text decodes a string into a string that does not share the buffer and
// may be kept. A string equal to prev is prev: the strings of a histogram
// column, such as its spans, often repeat from row to row, and are then
// not allocated again.
func (p *parser) text(prev string) (string, error) {
	start := p.i
	raw, complex, err := p.scanString()
	if err != nil {
		return "", err
	}
	switch {
	case complex:
		return p.unquote(start)
	case string(raw) == prev:
		return prev, nil
	}
	return string(raw), nil
}

// unquote decodes the string p.b[start:p.i] by encoding/json, so that it
// reads exactly as with Query.
func (p *parser) unquote(start int) (string, error) {
	var s string
	if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
		p.i = start
		return "", p.fail("invalid string: %v", err)
	}
	return s, nil
}

// scanNumber consumes a number with JSON's grammar. It returns the digits
// of its integer part when it has neither fraction nor exponent, else nil.
func (p *parser) scanNumber() (text, integer []byte, neg bool, err error) {
	start := p.i
	if p.peek() == '-' {
		neg = true
		p.i++
	}
	digits := p.i
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case c >= '1' && c <= '9':
		p.skipDigits()
	default:
		return nil, nil, false, p.unexpected("a number")
	}
	integer = p.b[digits:p.i]
	if p.peek() == '.' {
		p.i++
		if !p.skipDigits() {
			return nil, nil, false, p.unexpected("a digit")
		}
		integer = nil
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if !p.skipDigits() {
			return nil, nil, false, p.unexpected("a digit")
		}
		integer = nil
	}
	return p.b[start:p.i], integer, neg, nil
}

func (p *parser) skipDigits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// integer decodes an integer number that fits in int64, such as a time.
func (p *parser) integer() (int64, error) {
	start := p.i
	text, integer, _, err := p.scanNumber()
	if err != nil {
		return 0, err
	}
	if integer == nil {
		p.i = start
		return 0, p.fail("number %s is not an integer", text)
	}
	if len(integer) <= maxSafeInt64Digits {
		n := int64(digitsValue(integer))
		if text[0] == '-' {
			n = -n
		}
		return n, nil
	}
	n, err := strconv.ParseInt(string(text), 10, 64)
	if err != nil {
		p.i = start
		return 0, p.fail("integer %s out of range", text)
	}
	return n, nil
}

// number decodes a number as the float64 nearest to its text, which is the
// float InfluxDB wrote: it prints floats in their shortest exact form.
func (p *parser) number() (float64, error) {
	start := p.i
	text, integer, neg, err := p.scanNumber()
	if err != nil {
		return 0, err
	}
	if integer != nil && len(integer) <= maxExactDigits {
		// Most samples are integers (counters, gauges of counts): skip
		// ParseFloat, the conversion is exact.
		f := float64(digitsValue(integer))
		if neg {
			f = -f // -0 included
		}
		return f, nil
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		p.i = start
		return 0, p.fail("number %s out of float64 range", text)
	}
	return f, nil
}

// digitsValue is the value of at most maxSafeInt64Digits decimal digits.
func digitsValue(digits []byte) uint64 {
	var n uint64
	for _, c := range digits {
		n = n*10 + uint64(c-'0')
	}
	return n
}

// skip consumes any value, checking its syntax.
func (p *parser) skip(depth int) error {
	if depth > maxSkipDepth {
		return p.fail("values nested deeper than %d", maxSkipDepth)
	}
	switch p.peek() {
	case '{':
		return p.members(func([]byte) error { return p.skip(depth + 1) })
	case '[':
		return p.elements(func() error { return p.skip(depth + 1) })
	case '"':
		_, err := p.string(nil)
		return err
	case 't', 'f':
		_, err := p.boolean()
		return err
	case 'n':
		return p.literal("null")
	default:
		_, _, _, err := p.scanNumber()
		return err
	}
}
