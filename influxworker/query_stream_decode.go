package influxworker

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// The answer to a chunked query is a sequence of JSON objects, one per
// chunk, each like a whole /query answer:
//
//	{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"k":"v"},"columns":["time","value"],"values":[[1,0.5],...],"partial":true}],"partial":true}]}
//
// streamDecoder cuts the stream into objects (a scan that tracks only
// strings and nesting) and parses each in place, rows straight into the
// typed slices of a reused SeriesChunk, where encoding/json would allocate
// for every cell.

const (
	// streamBufferBytes is the initial read buffer; it grows to the largest
	// chunk object.
	streamBufferBytes = 64 << 10
	// maxStreamObjectBytes bounds one chunk object, hence the buffer: far
	// above a chunk of streamChunkSize rows, it stops a broken server.
	maxStreamObjectBytes = 64 << 20
	// maxInternedStrings bounds the strings kept for reuse across chunks.
	maxInternedStrings = 4096
	// maxSkipDepth bounds the nesting of skipped values, such as messages,
	// so that a hostile answer cannot exhaust the stack.
	maxSkipDepth = 64
	// maxStreamColumns bounds the columns of a row, time included, since
	// every column gets a slice.
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
	// Checked after the rows, as JSON does not order keys; d.cells is then
	// at least 2.
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
		// Taken back, which spares the loop above a second pass.
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
