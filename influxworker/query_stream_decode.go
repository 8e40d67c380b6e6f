package influxworker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The answer to a chunked query is a sequence of JSON objects, one per
// chunk, each like a whole /query answer:
//
//	{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"k":"v"},"columns":["time","value"],"values":[[1,0.5],...],"partial":true}],"partial":true}]}
//
// encoding/json would decode every cell through an interface value and
// allocate for each row. streamDecoder instead cuts the stream into objects
// (a scan that only tracks strings and nesting) and parses each object in
// place, rows straight into the typed slices of a reused SeriesChunk.

const (
	// streamBufferBytes is the initial read buffer; it grows to the largest
	// chunk object.
	streamBufferBytes = 64 << 10
	// maxStreamObjectBytes bounds one chunk object, hence the buffer. A
	// chunk of streamChunkSize rows is well under a megabyte, unless tags
	// are huge; without a bound a broken server could make it grow forever.
	maxStreamObjectBytes = 64 << 20
	// maxInternedStrings bounds the strings kept for reuse across chunks.
	maxInternedStrings = 4096
	// maxSkipDepth bounds the nesting of values that are skipped, such as
	// messages, so that a hostile answer cannot exhaust the stack.
	maxSkipDepth = 64
	// maxStreamColumns bounds the columns of a row, time included. Queries
	// select a few value columns; without a bound a hostile row of millions
	// of cells would allocate a slice for each.
	maxStreamColumns = 1024
	// maxExactDigits is the most decimal digits of an integer that float64
	// holds exactly whatever they are: 10^15 < 2^53.
	maxExactDigits = 15
	// maxSafeInt64Digits is the most decimal digits of any int64:
	// 10^18 < 2^63.
	maxSafeInt64Digits = 18
)

// influxError is an error InfluxDB reported inside a 200 answer, a
// statement's or the whole query's.
type influxError string

func (e influxError) Error() string { return string(e) }

// streamDecoder decodes one chunked /query answer.
type streamDecoder struct {
	r io.Reader
	// buf[start:end] has been read but not consumed.
	buf        []byte
	start, end int
	// offset is the stream offset of buf[0], for error messages.
	offset int64
	// readErr is the sticky error of r.
	readErr error
	// maxObject is maxStreamObjectBytes but in tests.
	maxObject int

	chunk SeriesChunk
	// text keeps the arrays of Text while a chunk has no string cell, for
	// the next that has.
	text   [][]string
	intern map[string]string
	// cells is the number of cells, time included, of the rows of the
	// current series, set by its first row; 0 before.
	cells int
	// partial is the Partial flag of the last result: the answer must not
	// end while it is set.
	partial bool
}

func newStreamDecoder(r io.Reader) *streamDecoder {
	return &streamDecoder{
		r:         r,
		buf:       make([]byte, streamBufferBytes),
		maxObject: maxStreamObjectBytes,
		chunk:     SeriesChunk{Tags: map[string]string{}},
		intern:    map[string]string{},
	}
}

// decode calls fn for every series of the answer until its end, and returns
// fn's error, an influxError, or an error about a broken or malformed
// answer.
func (d *streamDecoder) decode(fn func(*SeriesChunk) error) error {
	objects := 0
	for {
		obj, err := d.nextObject()
		if errors.Is(err, io.EOF) {
			switch {
			case objects == 0:
				return errors.New("cannot decode query response: empty answer")
			case d.partial:
				return fmt.Errorf("cannot decode query response: answer ended after %d bytes inside a partial result", d.offset+int64(d.start))
			}
			return nil
		}
		if err != nil {
			return err
		}
		objects++
		p := parser{b: obj}
		if err := d.object(&p, fn); err != nil {
			var perr *parseError
			if errors.As(err, &perr) {
				return fmt.Errorf("cannot decode query response at byte %d: %s", d.offset+int64(d.start-len(obj)+perr.at), perr.msg)
			}
			return err
		}
	}
}

// nextObject returns the next top-level JSON object of the stream, valid
// until the next call, or io.EOF after the last one.
func (d *streamDecoder) nextObject() ([]byte, error) {
	for {
		for d.start < d.end && isSpace(d.buf[d.start]) {
			d.start++
		}
		if d.start < d.end {
			break
		}
		if err := d.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("cannot read query response after %d bytes: %w", d.offset+int64(d.start), err)
		}
	}
	if c := d.buf[d.start]; c != '{' {
		return nil, fmt.Errorf("cannot decode query response at byte %d: found %q, want '{'", d.offset+int64(d.start), c)
	}
	depth, inString, escaped := 0, false, false
	i := d.start
	for {
		for ; i < d.end; i++ {
			c := d.buf[i]
			if inString {
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
				}
				continue
			}
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					obj := d.buf[d.start : i+1]
					d.start = i + 1
					return obj, nil
				}
			}
		}
		before := d.start
		err := d.fill()
		i -= before - d.start
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("cannot read query response after %d bytes, inside a chunk: %w", d.offset+int64(d.end), err)
		}
	}
}

// fill reads more of the stream into buf, keeping buf[start:end] and moving
// it to the front.
func (d *streamDecoder) fill() error {
	if d.start > 0 {
		n := copy(d.buf, d.buf[d.start:d.end])
		d.offset += int64(d.start)
		d.start, d.end = 0, n
	}
	if d.end == len(d.buf) {
		if len(d.buf) >= d.maxObject {
			return fmt.Errorf("chunk larger than %d bytes", d.maxObject)
		}
		buf := make([]byte, min(2*len(d.buf), d.maxObject))
		copy(buf, d.buf[:d.end])
		d.buf = buf
	}
	// Like bufio, give up on a reader that keeps returning nothing.
	for range 100 {
		if d.readErr != nil {
			return d.readErr
		}
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		d.readErr = err
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// object decodes one chunk object.
func (d *streamDecoder) object(p *parser, fn func(*SeriesChunk) error) error {
	return p.members(func(key []byte) error {
		switch string(key) {
		case "results":
			return p.elements(func() error { return d.result(p, fn) })
		case "error":
			msg, err := p.string(nil)
			if err != nil {
				return err
			}
			return influxError(msg)
		default:
			return p.skip(0)
		}
	})
}

// result decodes the result of one statement.
func (d *streamDecoder) result(p *parser, fn func(*SeriesChunk) error) error {
	var (
		id      int64 = -1
		partial bool
		msg     string
	)
	err := p.members(func(key []byte) error {
		var err error
		switch string(key) {
		case "statement_id":
			id, err = p.integer()
		case "series":
			err = p.elements(func() error { return d.series(p, fn) })
		case "partial":
			partial, err = p.boolean()
		case "error":
			msg, err = p.string(nil)
		default: // messages are informational
			err = p.skip(0)
		}
		return err
	})
	if err != nil {
		return err
	}
	if msg != "" {
		return influxError(fmt.Sprintf("statement %d: %s", id, msg))
	}
	d.partial = partial
	return nil
}

// series decodes one series into d.chunk and passes it to fn.
func (d *streamDecoder) series(p *parser, fn func(*SeriesChunk) error) error {
	c := &d.chunk
	c.Name = ""
	clear(c.Tags)
	c.Columns, c.Times, c.Values, c.Keys = c.Columns[:0], c.Times[:0], c.Values[:0], c.Keys[:0]
	// Only the length: the slices past it keep their arrays for reuse.
	c.Extra = c.Extra[:0]
	if c.Text != nil {
		d.text = c.Text
	}
	c.Text = nil
	c.Partial = false
	d.cells = 0
	rows := 0
	err := p.members(func(key []byte) error {
		var err error
		switch string(key) {
		case "name":
			c.Name, err = p.string(d.intern)
		case "tags":
			err = p.nullableMembers(func(k []byte) error {
				key := internString(d.intern, k)
				v, err := p.string(d.intern)
				c.Tags[key] = v
				return err
			})
		case "columns":
			err = p.nullableElements(func() error {
				col, err := p.string(d.intern)
				c.Columns = append(c.Columns, col)
				return err
			})
		case "values":
			err = p.nullableElements(func() error {
				rows++
				return d.row(p)
			})
		case "partial":
			c.Partial, err = p.boolean()
		default:
			err = p.skip(0)
		}
		return err
	})
	if err != nil {
		return err
	}
	// The rows are decoded before the columns are checked, because JSON
	// does not promise the order of the keys; d.cells is then at least 2.
	if len(c.Keys) > 0 {
		if len(c.Columns) != 1 {
			return fmt.Errorf("cannot decode series %q: columns %q, want the one column of its rows of one string", c.Name, c.Columns)
		}
		return fn(c)
	}
	if rows > 0 && (len(c.Columns) != d.cells || c.Columns[0] != "time") {
		return fmt.Errorf("cannot decode series %q: columns %q, want time and the %d value columns of the rows", c.Name, c.Columns, d.cells-1)
	}
	return fn(c)
}

// row decodes [time, value, ...] into d.chunk, leaving out a row whose
// values are all null. Every row of a series must have as many cells as the
// first.
func (d *streamDecoder) row(p *parser) error {
	if err := p.expect('['); err != nil {
		return err
	}
	p.space()
	if p.peek() == '"' {
		return d.keyRow(p)
	}
	if len(d.chunk.Keys) > 0 {
		return p.fail("row of a time after rows of one string")
	}
	t, err := p.integer()
	if err != nil {
		return err
	}
	c := &d.chunk
	n := len(c.Times)
	cells, allNull := 1, true
	for {
		p.space()
		if b := p.peek(); b == ']' {
			p.i++
			break
		} else if b != ',' {
			return p.unexpected("',' or ']'")
		}
		p.i++
		p.space()
		col := cells - 1
		v, null, isText, err := p.cell()
		if err != nil {
			return err
		}
		allNull = allNull && null
		if col == 0 {
			c.Values = append(c.Values, v)
		} else {
			if col-1 == len(c.Extra) {
				if err := d.addColumn(p); err != nil {
					return err
				}
			}
			c.Extra[col-1] = append(c.Extra[col-1], v)
		}
		if isText && c.Text == nil {
			d.startText(col, n)
		}
		if c.Text != nil {
			if col == len(c.Text) {
				d.addTextColumn(n)
			}
			text := ""
			if isText {
				prev := ""
				if k := len(c.Text[col]); k > 0 {
					prev = c.Text[col][k-1]
				}
				if text, err = p.text(prev); err != nil {
					return err
				}
			}
			c.Text[col] = append(c.Text[col], text)
		}
		cells++
	}
	switch {
	case cells == 1:
		return p.fail("row has no value column, want time and at least one value")
	case d.cells == 0:
		d.cells = cells
	case cells != d.cells:
		return p.fail("row has %d columns, want %d as the first row of the series", cells, d.cells)
	}
	if allNull {
		// Appended only to be taken back: this keeps the loop above free of
		// a second pass over the row.
		c.Values = c.Values[:n]
		for i := range c.Extra {
			c.Extra[i] = c.Extra[i][:n]
		}
		for i := range c.Text {
			c.Text[i] = c.Text[i][:n]
		}
		return nil
	}
	c.Times = append(c.Times, t)
	return nil
}

// keyRow decodes a row of one string and no time, such as those of SHOW
// SERIES, into Keys.
func (d *streamDecoder) keyRow(p *parser) error {
	c := &d.chunk
	if len(c.Times) > 0 {
		return p.fail("row of one string after rows of a time")
	}
	key, err := p.text("")
	if err != nil {
		return err
	}
	p.space()
	if err := p.expect(']'); err != nil {
		return p.fail("row of a string has more cells, want one")
	}
	c.Keys = append(c.Keys, key)
	d.cells = 1
	return nil
}

// startText makes Text of the chunk, at the first string cell, in column
// col of row n: the cells before it, of this row and the earlier ones, are
// not strings. Until then the rows cost no string column at all.
func (d *streamDecoder) startText(col, n int) {
	c := &d.chunk
	c.Text = d.text[:0]
	if c.Text == nil {
		c.Text = make([][]string, 0, col+1)
	}
	for range col {
		d.addTextColumn(n)
		c.Text[len(c.Text)-1] = append(c.Text[len(c.Text)-1], "")
	}
}

// addTextColumn adds a column of n "" to Text, reusing the array a column
// had in an earlier chunk.
func (d *streamDecoder) addTextColumn(n int) {
	c := &d.chunk
	if len(c.Text) < cap(c.Text) {
		c.Text = c.Text[:len(c.Text)+1]
	} else {
		c.Text = append(c.Text, nil)
	}
	last := &c.Text[len(c.Text)-1]
	*last = slices.Grow((*last)[:0], n+1)[:n]
	clear(*last)
}

// addColumn adds a column to Extra while the first row of a series is
// decoded, reusing the array a column had in an earlier chunk.
func (d *streamDecoder) addColumn(p *parser) error {
	c := &d.chunk
	if d.cells != 0 {
		// Only the first row may add columns; the later ones must fit.
		return p.fail("row has more than %d columns, want %d as the first row of the series", d.cells, d.cells)
	}
	if len(c.Extra)+2 >= maxStreamColumns {
		return p.fail("row has more than %d columns", maxStreamColumns)
	}
	if len(c.Extra) < cap(c.Extra) {
		c.Extra = c.Extra[:len(c.Extra)+1]
		c.Extra[len(c.Extra)-1] = c.Extra[len(c.Extra)-1][:0]
		return nil
	}
	c.Extra = append(c.Extra, nil)
	return nil
}

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
	switch c := p.peek(); {
	case c == '{':
		return p.members(func([]byte) error { return p.skip(depth + 1) })
	case c == '[':
		return p.elements(func() error { return p.skip(depth + 1) })
	case c == '"':
		_, err := p.string(nil)
		return err
	case c == 't' || c == 'f':
		_, err := p.boolean()
		return err
	case c == 'n':
		return p.literal("null")
	default:
		_, _, _, err := p.scanNumber()
		return err
	}
}
