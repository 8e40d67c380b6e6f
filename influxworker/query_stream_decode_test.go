package influxworker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// decodeAll decodes a chunked answer into copies of its chunks.
func decodeAll(r io.Reader) ([]SeriesChunk, error) {
	var got []SeriesChunk
	err := newStreamDecoder(r).decode(func(c *SeriesChunk) error {
		got = append(got, cloneChunk(c))
		return nil
	})
	return got, err
}

// cloneChunk is a deep copy of c, which the decoder reuses.
func cloneChunk(c *SeriesChunk) SeriesChunk {
	x := SeriesChunk{
		Name:    c.Name,
		Tags:    maps.Clone(c.Tags),
		Columns: slices.Clone(c.Columns),
		Times:   slices.Clone(c.Times),
		Values:  slices.Clone(c.Values),
		Keys:    slices.Clone(c.Keys),
		Partial: c.Partial,
	}
	for _, col := range c.Extra {
		x.Extra = append(x.Extra, slices.Clone(col))
	}
	for _, col := range c.Text {
		x.Text = append(x.Text, slices.Clone(col))
	}
	return x
}

// null is a null cell of a column of several.
var null = math.NaN()

// sameChunks compares chunks with float bits, so that -0 differs from 0
// and NaN equals NaN, and with nil and empty slices and maps alike.
func sameChunks(a, b []SeriesChunk) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || x.Partial != y.Partial || !maps.Equal(x.Tags, y.Tags) ||
			!slices.Equal(x.Columns, y.Columns) || !slices.Equal(x.Times, y.Times) ||
			!sameFloats(x.Values, y.Values) || !slices.EqualFunc(x.Extra, y.Extra, sameFloats) || !slices.Equal(x.Keys, y.Keys) ||
			(x.Text == nil) != (y.Text == nil) || !slices.EqualFunc(x.Text, y.Text, slices.Equal) {
			return false
		}
	}
	return true
}

func sameFloats(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(v, w float64) bool { return math.Float64bits(v) == math.Float64bits(w) })
}

func TestStreamDecodeGolden(t *testing.T) {
	// Recorded from influxd 1.6.7 with chunked=true and chunk_size=3 (the
	// first) or 2.
	cols := []string{"time", "value"}
	two := []string{"time", "value", "special"}
	counts := []string{"time", "count", "count_1"}
	hist := []string{"time", "h_count", "h_sum", "h_schema", "h_float", "h_pos_spans", "h_pos"}
	for _, tc := range []struct {
		file string
		want []SeriesChunk
	}{
		{
			// SELECT "value"::field FROM "m" GROUP BY *
			file: "query_stream.jsonl",
			want: []SeriesChunk{
				{Name: "m", Tags: map[string]string{"a": "", "b": ""}, Columns: cols, Times: []int64{6, 7}, Values: []float64{5e-324, math.Copysign(0, -1)}},
				{Name: "m", Tags: map[string]string{"a": "", "b": "y"}, Columns: cols, Times: []int64{5}, Values: []float64{0.30000000000000004}},
				{Name: "m", Tags: map[string]string{"a": "x", "b": ""}, Columns: cols, Times: []int64{1000, 1001, 1002}, Values: []float64{0.5, 1.5, 2.5}, Partial: true},
				{Name: "m", Tags: map[string]string{"a": "x", "b": ""}, Columns: cols, Times: []int64{1003, 1004, 1005}, Values: []float64{3.5, 4.5, 5.5}, Partial: true},
				{Name: "m", Tags: map[string]string{"a": "x", "b": ""}, Columns: cols, Times: []int64{1006}, Values: []float64{6.5}},
			},
		},
		{
			// SELECT "value"::field, "special"::field FROM "m" GROUP BY *
			file: "query_stream_special.jsonl",
			want: []SeriesChunk{
				{Name: "m", Tags: map[string]string{"t": "a"}, Columns: two, Times: []int64{1000, 2000}, Values: []float64{1, null}, Extra: [][]float64{{null, 3}}, Partial: true},
				{Name: "m", Tags: map[string]string{"t": "a"}, Columns: two, Times: []int64{3000, 4000}, Values: []float64{math.Copysign(0, -1), null}, Extra: [][]float64{{null, 2251799813685250}}, Partial: true},
				{Name: "m", Tags: map[string]string{"t": "a"}, Columns: two, Times: []int64{5000}, Values: []float64{0.1}, Extra: [][]float64{{null}}},
				{Name: "m", Tags: map[string]string{"t": "b"}, Columns: two, Times: []int64{1000}, Values: []float64{2}, Extra: [][]float64{{null}}},
				{Name: "m", Tags: map[string]string{"t": "c"}, Columns: two, Times: []int64{3000}, Values: []float64{null}, Extra: [][]float64{{-1}}},
			},
		},
		{
			// SELECT count("value"::field), count("special"::field) FROM "m" GROUP BY *
			file: "query_stream_count.jsonl",
			want: []SeriesChunk{
				{Name: "m", Tags: map[string]string{"t": "a"}, Columns: counts, Times: []int64{0}, Values: []float64{3}, Extra: [][]float64{{2}}},
				{Name: "m", Tags: map[string]string{"t": "b"}, Columns: counts, Times: []int64{0}, Values: []float64{1}, Extra: [][]float64{{null}}},
				{Name: "m", Tags: map[string]string{"t": "c"}, Columns: counts, Times: []int64{0}, Values: []float64{null}, Extra: [][]float64{{1}}},
			},
		},
		{
			// SELECT "h_count"::field, "h_sum"::field, "h_schema"::field, "h_float"::field, "h_pos_spans"::field, "h_pos"::field FROM m GROUP BY *
			// of native histogram fields: strings (escaped, UTF-8, empty),
			// booleans, an integer.
			file: "query_stream_text.jsonl",
			want: []SeriesChunk{
				{Name: "m", Tags: map[string]string{"le": "a"}, Columns: hist, Times: []int64{1000, 2000}, Values: []float64{6, 0},
					Extra: [][]float64{{12.5, null}, {3, null}, {0, null}, {null, null}, {null, null}},
					Text:  [][]string{{"", ""}, {"", ""}, {"", ""}, {"", ""}, {"0:2,3:1", ""}, {"1,1,-1", ""}}, Partial: true},
				{Name: "m", Tags: map[string]string{"le": "a"}, Columns: hist, Times: []int64{3000}, Values: []float64{null},
					Extra: [][]float64{{null}, {null}, {1}, {null}, {null}},
					Text:  [][]string{{""}, {""}, {""}, {""}, {""}, {`é "q" \ x\ty` + "\t" + `z😀`}}},
				{Name: "m", Tags: map[string]string{"le": "b"}, Columns: hist, Times: []int64{1000}, Values: []float64{null},
					Extra: [][]float64{{math.Copysign(0, -1)}, {null}, {1}, {null}, {null}},
					Text:  [][]string{{""}, {""}, {""}, {""}, {""}, {""}}},
			},
		},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]io.Reader{
			"whole":    bytes.NewReader(b),
			"one byte": iotest.OneByteReader(bytes.NewReader(b)),
		} {
			t.Run(tc.file+"/"+name, func(t *testing.T) {
				got, err := decodeAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if !sameChunks(got, tc.want) {
					t.Fatalf("got %+v\nwant %+v", got, tc.want)
				}
			})
		}
	}
}

func TestStreamDecode(t *testing.T) {
	cols := []string{"time", "value"}
	for _, tc := range []struct {
		name    string
		in      string
		want    []SeriesChunk
		wantErr string // substring; "" for success
	}{
		{
			name: "empty result",
			in:   `{"results":[{"statement_id":0}]}` + "\n",
		},
		{
			name: "messages are skipped",
			in:   `{"results":[{"statement_id":0,"messages":[{"level":"warning","text":"deprecated {[\"x"}]}]}`,
		},
		{
			name: "count discovery shape",
			in: `{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"a":"","c":"z"},"columns":["time","count"],"values":[[0,2]]}],"partial":true}]}` +
				`{"results":[{"statement_id":0,"series":[{"name":"n","tags":{"a":"x","c":""},"columns":["time","count"],"values":[[-1000,9007199254740992]]}]}]}`,
			want: []SeriesChunk{
				{Name: "m", Tags: map[string]string{"a": "", "c": "z"}, Columns: []string{"time", "count"}, Times: []int64{0}, Values: []float64{2}},
				{Name: "n", Tags: map[string]string{"a": "x", "c": ""}, Columns: []string{"time", "count"}, Times: []int64{-1000}, Values: []float64{1 << 53}},
			},
		},
		{
			name: "awkward numbers",
			in: `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[` +
				`[1,1e300],[2,-1.7976931348623157e+308],[3,-0],[4,123456789012345],[5,1234567890123456789],[6,-0.0],[7,2.5E-3],[8,0]]}]}]}`,
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: cols, Times: []int64{1, 2, 3, 4, 5, 6, 7, 8},
				Values: []float64{1e300, -math.MaxFloat64, math.Copysign(0, -1), 123456789012345, 1234567890123456789, math.Copysign(0, -1), 0.0025, 0}}},
		},
		{
			name: "null values are left out",
			in:   `{"results":[{"statement_id":0,"series":[{"name":"m","tags":null,"columns":["time","value"],"values":[[1,null],[2,0.5],[3, null ]]}]}]}`,
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: cols, Times: []int64{2}, Values: []float64{0.5}}},
		},
		{
			name: "two columns with nulls in every position",
			in: `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value","special"],"values":[` +
				`[1,null,null],[2,0.5,null],[3,null,3],[4,-0,-1],[5, null , null ]]}]}]}`,
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: []string{"time", "value", "special"},
				Times: []int64{2, 3, 4}, Values: []float64{0.5, null, math.Copysign(0, -1)}, Extra: [][]float64{{null, 3, -1}}}},
		},
		{
			name: "three columns",
			in: `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b","c"],"values":[` +
				`[1,1,null,null],[2,null,2,null],[3,null,null,3],[4,null,null,null],[5,1,2,3],[6,null,2,3]]}]}]}`,
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: []string{"time", "a", "b", "c"},
				Times: []int64{1, 2, 3, 5, 6}, Values: []float64{1, null, null, 1, null},
				Extra: [][]float64{{null, 2, null, 2, 2}, {null, null, 3, 3, 3}}}},
		},
		{
			name: "all rows null",
			in:   `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b"],"values":[[1,null,null],[2,null,null]]}]}]}`,
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: []string{"time", "a", "b"}, Extra: [][]float64{{}}}},
		},
		{
			// Extra is reused across chunks: a series of one value column
			// after one of two has no Extra, and one of three after it has
			// fresh columns.
			name: "column counts change between series",
			in: `{"results":[{"statement_id":0,"series":[` +
				`{"name":"m","columns":["time","a","b"],"values":[[1,1,2],[2,3,4]]},` +
				`{"name":"n","columns":["time","a"],"values":[[1,5]]},` +
				`{"name":"o","columns":["time","a","b","c"],"values":[[1,6,null,7]]},` +
				`{"name":"p","columns":["time","a","b"],"values":[]}]}]}`,
			want: []SeriesChunk{
				{Name: "m", Tags: map[string]string{}, Columns: []string{"time", "a", "b"}, Times: []int64{1, 2}, Values: []float64{1, 3}, Extra: [][]float64{{2, 4}}},
				{Name: "n", Tags: map[string]string{}, Columns: []string{"time", "a"}, Times: []int64{1}, Values: []float64{5}},
				{Name: "o", Tags: map[string]string{}, Columns: []string{"time", "a", "b", "c"}, Times: []int64{1}, Values: []float64{6}, Extra: [][]float64{{null}, {7}}},
				{Name: "p", Tags: map[string]string{}, Columns: []string{"time", "a", "b"}},
			},
		},
		{
			name: "escaped and non-ASCII strings",
			in:   `{"results":[{"statement_id":0,"series":[{"name":"a\u003cb\"c","tags":{"k\\ey":"v\/\n\u00e9","ü":"\ud83d\ude00"},"columns":["time","value"],"values":[[1,1]]}]}]}`,
			want: []SeriesChunk{{Name: `a<b"c`, Tags: map[string]string{`k\ey`: "v/\né", "ü": "😀"}, Columns: cols, Times: []int64{1}, Values: []float64{1}}},
		},
		{
			name: "any layout and key order",
			in: "\n {\n \"results\" : [ {\"partial\":false, \"series\" : [ {\"values\": [ [ 1 , 2 ] ] ,\"columns\":[\"time\",\"value\"],\n" +
				"\"name\":\"m\", \"extra\": {\"x\":[1,true,null]} } ], \"statement_id\": 0 } ] }\t\r\n",
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: cols, Times: []int64{1}, Values: []float64{2}}},
		},
		{
			name: "statement error after data",
			in: `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,1]],"partial":true}],"partial":true}]}` + "\n" +
				`{"results":[{"statement_id":0,"error":"max-select-point limit exceeded: (10/5)"}]}` + "\n",
			want:    []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: cols, Times: []int64{1}, Values: []float64{1}, Partial: true}},
			wantErr: "statement 0: max-select-point limit exceeded: (10/5)",
		},
		{
			name:    "database not found",
			in:      `{"results":[{"statement_id":0,"error":"database not found: missing"}]}` + "\n",
			wantErr: "statement 0: database not found: missing",
		},
		{
			name:    "top-level error",
			in:      `{"error":"timeout"}`,
			wantErr: "timeout",
		},
		{
			name:    "ends inside a partial result",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,1]],"partial":true}],"partial":true}]}` + "\n",
			want:    []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: cols, Times: []int64{1}, Values: []float64{1}, Partial: true}},
			wantErr: "answer ended after 131 bytes inside a partial result",
		},
		{
			name:    "ends inside a chunk",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,1],[2,`,
			wantErr: "inside a chunk: unexpected EOF",
		},
		{name: "empty answer", in: " \n", wantErr: "empty answer"},
		{name: "not JSON", in: "<html>", wantErr: `at byte 0: found '<', want '{'`},
		{name: "not an object", in: `{"results":[]} [1]`, wantErr: `at byte 15: found '[', want '{'`},
		{
			name: "string value",
			in:   `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,"up"],[2,null],[3,""]]}]}]}`,
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: cols, Times: []int64{1, 3}, Values: []float64{null, null}, Text: [][]string{{"up", ""}}}},
		},
		{
			name: "booleans",
			in:   `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b"],"values":[[1,true,null],[2,null,false],[3,null,null],[4,false,true]]}]}]}`,
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: []string{"time", "a", "b"},
				Times: []int64{1, 2, 4}, Values: []float64{1, null, 0}, Extra: [][]float64{{null, 0, 1}}}},
		},
		{
			// The first string comes in a later row and a middle column:
			// Text covers the rows and cells before it, and the rows left
			// out are left out of Text too.
			name: "strings mixed with numbers booleans and nulls",
			in: `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","h_count","h_float","h_pos_spans","h_pos"],"values":[` +
				`[1,6,false,null,null],[2,null,null,null,null],[3,7,true,"0:2,3:1","1,1,-1"],[4,null,null,null,null],[5,null,null,null,"x"],[6,-0,null,"",null]]}]}]}`,
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: []string{"time", "h_count", "h_float", "h_pos_spans", "h_pos"},
				Times: []int64{1, 3, 5, 6}, Values: []float64{6, 7, null, math.Copysign(0, -1)},
				Extra: [][]float64{{0, 1, null, null}, {null, null, null, null}, {null, null, null, null}},
				Text:  [][]string{{"", "", "", ""}, {"", "", "", ""}, {"", "0:2,3:1", "", ""}, {"", "1,1,-1", "x", ""}}}},
		},
		{
			name: "string in the first row and the last column",
			in:   `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b"],"values":[[1,1,"x"],[2,2,null]]}]}]}`,
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: []string{"time", "a", "b"},
				Times: []int64{1, 2}, Values: []float64{1, 2}, Extra: [][]float64{{null, null}}, Text: [][]string{{"", ""}, {"x", ""}}}},
		},
		{
			name: "string escapes and UTF-8",
			in: `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","s"],"values":[` +
				`[1,"a\"b\\c\/d"],[2,"\n\t\r\b\f"],[3,"\u00e9\u0000"],[4,"\ud83d\ude00"],[5,"é€😀"],[6,"\ud800"],[7,"\u003c\u003e\u0026"]]}]}]}`,
			want: []SeriesChunk{{Name: "m", Tags: map[string]string{}, Columns: []string{"time", "s"},
				Times: []int64{1, 2, 3, 4, 5, 6, 7}, Values: []float64{null, null, null, null, null, null, null},
				Text: [][]string{{`a"b\c/d`, "\n\t\r\b\f", "é\x00", "😀", "é€😀", "\ufffd", "<>&"}}}},
		},
		{
			// Text of one chunk must not leak into the next, which has no
			// string; its arrays are reused by a later chunk with strings.
			name: "text between chunks",
			in: `{"results":[{"statement_id":0,"series":[` +
				`{"name":"m","columns":["time","a","b"],"values":[[1,"x","y"],[2,null,"z"]],"partial":true}],"partial":true}]}` +
				`{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b"],"values":[[3,1,2]]}]}]}` +
				`{"results":[{"statement_id":0,"series":[{"name":"n","columns":["time","a"],"values":[[4,"w"]]}]}]}`,
			want: []SeriesChunk{
				{Name: "m", Tags: map[string]string{}, Columns: []string{"time", "a", "b"}, Times: []int64{1, 2}, Values: []float64{null, null},
					Extra: [][]float64{{null, null}}, Text: [][]string{{"x", ""}, {"y", "z"}}, Partial: true},
				{Name: "m", Tags: map[string]string{}, Columns: []string{"time", "a", "b"}, Times: []int64{3}, Values: []float64{1}, Extra: [][]float64{{2}}},
				{Name: "n", Tags: map[string]string{}, Columns: []string{"time", "a"}, Times: []int64{4}, Values: []float64{null}, Text: [][]string{{"w"}}},
			},
		},
		{
			name:    "array value",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,[1]]]}]}]}`,
			wantErr: `at byte 92: found '[', want a number, string, boolean or null`,
		},
		{
			name:    "object in a later column",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b"],"values":[[1,null,{}]]}]}]}`,
			wantErr: `found '{', want a number, string, boolean or null`,
		},
		{
			name:    "invalid escape in a string value",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,"\x"]]}]}]}`,
			wantErr: `invalid string`,
		},
		{
			name:    "bad literal",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,tru]]}]}]}`,
			wantErr: `want true`,
		},
		{
			name:    "columns do not match",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["value","time"],"values":[[1,1]]}]}]}`,
			wantErr: `cannot decode series "m": columns ["value" "time"], want time and the 1 value columns of the rows`,
		},
		{
			name:    "fewer columns than cells",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a"],"values":[[1,1,2]]}]}]}`,
			wantErr: `columns ["time" "a"], want time and the 2 value columns of the rows`,
		},
		{
			name:    "more columns than cells",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b"],"values":[[1,1]]}]}]}`,
			wantErr: `columns ["time" "a" "b"], want time and the 1 value columns of the rows`,
		},
		{
			name:    "no columns",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","values":[[1,1]]}]}]}`,
			wantErr: `columns [], want time`,
		},
		{
			name:    "row without value",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time"],"values":[[1]]}]}]}`,
			wantErr: "row has no value column",
		},
		{
			name:    "row longer than the first",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b"],"values":[[1,1,2],[2,1,2,3]]}]}]}`,
			wantErr: "row has more than 3 columns, want 3 as the first row of the series",
		},
		{
			name:    "row shorter than the first",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b"],"values":[[1,null,null],[2,1]]}]}]}`,
			wantErr: "row has 2 columns, want 3 as the first row of the series",
		},
		{
			name:    "one value column then two",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a"],"values":[[1,1],[2,1,2]]}]}]}`,
			wantErr: "row has more than 2 columns, want 2",
		},
		{
			name:    "too many columns",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","values":[[1` + strings.Repeat(",1", maxStreamColumns) + `]]}]}]}`,
			wantErr: "row has more than 1024 columns",
		},
		{
			name:    "missing comma between cells",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b"],"values":[[1,1 2]]}]}]}`,
			wantErr: `found '2', want ',' or ']'`,
		},
		{
			name:    "time not an integer",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1.5,1]]}]}]}`,
			wantErr: "number 1.5 is not an integer",
		},
		{
			name:    "time out of range",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[9223372036854775808,1]]}]}]}`,
			wantErr: "integer 9223372036854775808 out of range",
		},
		{
			name: "show series",
			in: `{"results":[{"statement_id":0,"series":[{"columns":["key"],"values":[["m,a=1"],["m,a=\\,\"\u00e9"]],"partial":true}],"partial":true}]}` +
				`{"results":[{"statement_id":0,"series":[{"columns":["key"],"values":[["n"]]}]}]}`,
			want: []SeriesChunk{
				{Columns: []string{"key"}, Keys: []string{"m,a=1", `m,a=\,"é`}, Partial: true},
				{Columns: []string{"key"}, Keys: []string{"n"}},
			},
		},
		{
			name:    "string row after timed rows",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,2],["k"]]}]}]}`,
			wantErr: "row of one string after rows of a time",
		},
		{
			name:    "timed row after string rows",
			in:      `{"results":[{"statement_id":0,"series":[{"columns":["key"],"values":[["k"],[1,2]]}]}]}`,
			wantErr: "row of a time after rows of one string",
		},
		{
			name:    "string row of two cells",
			in:      `{"results":[{"statement_id":0,"series":[{"columns":["key"],"values":[["k","l"]]}]}]}`,
			wantErr: "row of a string has more cells",
		},
		{
			name:    "string rows with two columns",
			in:      `{"results":[{"statement_id":0,"series":[{"columns":["key","x"],"values":[["k"]]}]}]}`,
			wantErr: "want the one column",
		},
		{
			name:    "value out of range",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,1e400]]}]}]}`,
			wantErr: "number 1e400 out of float64 range",
		},
		{
			name:    "invalid number",
			in:      `{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,01]]}]}]}`,
			wantErr: `found '1', want ',' or ']'`,
		},
		{
			name:    "control character in string",
			in:      "{\"error\":\"a\tb\"}",
			wantErr: "control character",
		},
		{
			name:    "deep nesting",
			in:      `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
			wantErr: "nested deeper than 64",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, err := decodeAll(r)
				if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if !sameChunks(got, tc.want) {
					t.Fatalf("got %+v\nwant %+v", got, tc.want)
				}
			}
		})
	}
}

func TestStreamDecodeErrorKinds(t *testing.T) {
	_, err := decodeAll(strings.NewReader(`{"results":[{"statement_id":1,"error":"not executed"}]}`))
	var ie influxError
	if !errors.As(err, &ie) || string(ie) != "statement 1: not executed" {
		t.Fatalf("got %#v, want influxError", err)
	}
	broken := iotest.ErrReader(errors.New("connection reset by peer"))
	_, err = decodeAll(io.MultiReader(strings.NewReader(`{"results":[]}{"results"`), broken))
	if err == nil || !strings.Contains(err.Error(), "cannot read query response after 24 bytes, inside a chunk: connection reset by peer") || errors.As(err, &ie) {
		t.Fatalf("got %v, want read error", err)
	}
	// A broken connection between two chunks is not the end of the answer.
	_, err = decodeAll(io.MultiReader(strings.NewReader(`{"results":[]}`), iotest.ErrReader(io.ErrUnexpectedEOF)))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want unexpected EOF", err)
	}
	stop := errors.New("stop")
	calls := 0
	in := strings.Repeat(`{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","value"],"values":[[1,1]]}]}]}`, 3)
	err = newStreamDecoder(strings.NewReader(in)).decode(func(*SeriesChunk) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("got %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func TestStreamDecodeChunkLimit(t *testing.T) {
	// A chunk that never ends must not grow the buffer without bound.
	d := newStreamDecoder(io.MultiReader(strings.NewReader(`{"error":"`), infiniteReader{}))
	d.maxObject = 1 << 20
	err := d.decode(func(*SeriesChunk) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "inside a chunk: chunk larger than 1048576 bytes") || len(d.buf) != 1<<20 {
		t.Fatalf("got %v", err)
	}
}

type infiniteReader struct{}

func (infiniteReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'x'
	}
	return len(b), nil
}

func FuzzQueryStreamDecode(f *testing.F) {
	for _, file := range []string{"query_stream.jsonl", "query_stream_special.jsonl", "query_stream_count.jsonl", "query_stream_text.jsonl"} {
		if b, err := os.ReadFile(filepath.Join("testdata", file)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"a\u00e9":"\"x"},"columns":["time","count"],"values":[[0,2],[1,null]]}]}]}`))
	f.Add([]byte(`{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b","c"],"values":[[1,null,2,null],[2,null,null,null],[3,1,2,3]]},{"name":"n","columns":["time","a"],"values":[[1,1]]}]}]}`))
	f.Add([]byte(`{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b","c"],"values":[[1,6,false,null],[2,null,null,null],[3,7,true,"0:2,3:1"],[4,null,null,"\u00e9\ud83d\ude00\""]],"partial":true}],"partial":true}]}{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","a","b","c"],"values":[[5,1,2,3]]}]}]}`))
	f.Add([]byte(`{"results":[{"statement_id":0,"error":"database not found: x"}]}`))
	f.Add([]byte(`{"error":"e"}{"results":[{"messages":[{"level":"w","text":"t"}],"partial":true}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeAll(bytes.NewReader(b))
		// Reads of any size must give the same answer.
		got1, err1 := decodeAll(iotest.OneByteReader(bytes.NewReader(b)))
		if fmt.Sprint(err) != fmt.Sprint(err1) || !sameChunks(got, got1) {
			t.Fatalf("whole read: %+v, %v\none-byte reads: %+v, %v", got, err, got1, err1)
		}
		for _, c := range got {
			if len(c.Times) != len(c.Values) {
				t.Fatalf("%d times, %d values", len(c.Times), len(c.Values))
			}
			for i, col := range c.Extra {
				if len(col) != len(c.Times) {
					t.Fatalf("%d times, %d values in column %d", len(c.Times), len(col), i+2)
				}
			}
			if c.Text != nil && len(c.Text) != len(c.Extra)+1 {
				t.Fatalf("%d text columns, %d value columns", len(c.Text), len(c.Extra)+1)
			}
			for i, col := range c.Text {
				if len(col) != len(c.Times) {
					t.Fatalf("%d times, %d strings in column %d", len(c.Times), len(col), i+1)
				}
			}
			// A row is left out only when all its values are null. A
			// string cell is NaN too, and "" is not told from null.
			for i := range c.Times {
				null := math.IsNaN(c.Values[i]) && c.Text == nil
				for _, col := range c.Extra {
					null = null && math.IsNaN(col[i])
				}
				if null {
					t.Fatalf("row %d of %+v has only nulls", i, c)
				}
			}
		}
		if err != nil {
			return
		}
		for _, c := range got {
			if len(c.Times) > 0 && len(c.Columns) != len(c.Extra)+2 {
				t.Fatalf("columns %q with %d extra value columns", c.Columns, len(c.Extra))
			}
		}
		// What decodes is valid JSON.
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			var v map[string]any
			if err := dec.Decode(&v); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("accepted invalid JSON %q: %v", b, err)
			}
		}
	})
}

// chunkedAnswer is a chunked answer of rows rows in one series, split into
// chunks of chunkRows rows as InfluxDB does, with values like real samples:
// integers (counters) and floats of full precision. With special, the rows
// have a second value column, "special", null but in every 100th row, whose
// "value" is null instead, as a read of stored NaN and Inf samples.
func chunkedAnswer(rows, chunkRows int, special bool) []byte {
	columns := `["time","value"]`
	if special {
		columns = `["time","value","special"]`
	}
	var b bytes.Buffer
	for start := 0; start < rows; start += chunkRows {
		partial := start+chunkRows < rows
		b.WriteString(`{"results":[{"statement_id":0,"series":[{"name":"node_cpu_seconds_total","tags":{"cpu":"0","instance":"host-1:9100","job":"node","mode":"idle"},"columns":` + columns + `,"values":[`)
		for i := start; i < min(start+chunkRows, rows); i++ {
			if i > start {
				b.WriteByte(',')
			}
			v := float64(i) * 1.1
			if i%2 == 0 {
				v = float64(i * 17)
			}
			b.WriteByte('[')
			fmt.Fprint(&b, 1700000000000+int64(i)*15000)
			b.WriteByte(',')
			switch {
			case !special:
				b.Write(jsonFloat(v))
			case i%100 == 99:
				b.WriteString("null,3")
			default:
				b.Write(jsonFloat(v))
				b.WriteString(",null")
			}
			b.WriteByte(']')
		}
		b.WriteString(`]`)
		if partial {
			b.WriteString(`,"partial":true}],"partial":true}]}`)
		} else {
			b.WriteString(`}]}]}`)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// histogramAnswer is a chunked answer of rows rows of native histogram
// fields in one series, split into chunks of chunkRows rows: numbers, a
// boolean and two strings per row.
func histogramAnswer(rows, chunkRows int) []byte {
	var b bytes.Buffer
	for start := 0; start < rows; start += chunkRows {
		b.WriteString(`{"results":[{"statement_id":0,"series":[{"name":"http_request_duration_seconds","tags":{"instance":"host-1:9100","job":"api"},` +
			`"columns":["time","h_count","h_sum","h_schema","h_float","h_pos_spans","h_pos"],"values":[`)
		for i := start; i < min(start+chunkRows, rows); i++ {
			if i > start {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `[%d,%d,%s,3,false,"0:4,2:3","%d,1,-1,0,2,-3,1"]`, 1700000000000+int64(i)*15000, i*7, jsonFloat(float64(i)*1.1), i%5)
		}
		if start+chunkRows < rows {
			b.WriteString(`],"partial":true}],"partial":true}]}`)
		} else {
			b.WriteString(`]}]}]}`)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestHistogramAnswer(t *testing.T) {
	got, err := decodeAll(bytes.NewReader(histogramAnswer(15, 10)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Partial || len(got[1].Times) != 5 || got[1].Values[4] != 14*7 ||
		got[1].Extra[2][4] != 0 || got[1].Text[4][4] != "0:4,2:3" || got[1].Text[5][4] != "4,1,-1,0,2,-3,1" || got[1].Text[0][4] != "" {
		t.Fatalf("got %+v", got)
	}
}

func jsonFloat(v float64) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestChunkedAnswer(t *testing.T) {
	// The benchmark's answer decodes to what it was made of.
	for _, special := range []bool{false, true} {
		t.Run(fmt.Sprint("special=", special), func(t *testing.T) {
			got, err := decodeAll(bytes.NewReader(chunkedAnswer(250, 100, special)))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || !got[0].Partial || !got[1].Partial || got[2].Partial || len(got[2].Times) != 50 {
				t.Fatalf("got %+v", got)
			}
			x := 101.0
			if got[1].Values[1] != x*1.1 || got[1].Values[0] != 1700 || got[2].Times[49] != 1700000000000+249*15000 {
				t.Fatalf("got %+v", got[1:])
			}
			if !special {
				if len(got[0].Extra) != 0 {
					t.Fatalf("extra columns %v", got[0].Extra)
				}
				return
			}
			if len(got[0].Extra) != 1 || !math.IsNaN(got[0].Values[99]) || got[0].Extra[0][99] != 3 || !math.IsNaN(got[0].Extra[0][98]) {
				t.Fatalf("got %+v", got[0])
			}
		})
	}
}

// BenchmarkQueryStreamDecode decodes a chunked answer of 1M rows, with the
// stream decoder (of one value column, of two as when reading samples
// stored as "value" or "special", and of the fields of native histograms,
// strings included) and, for comparison, with encoding/json
// into Response as Query does.
func BenchmarkQueryStreamDecode(b *testing.B) {
	const rows = 1_000_000
	body := chunkedAnswer(rows, streamChunkSize, false)
	for name, body := range map[string][]byte{
		"stream":         body,
		"stream_special": chunkedAnswer(rows, streamChunkSize, true),
		"stream_text":    histogramAnswer(rows, streamChunkSize),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				n := 0
				err := newStreamDecoder(bytes.NewReader(body)).decode(func(c *SeriesChunk) error {
					n += len(c.Times)
					return nil
				})
				if err != nil || n != rows {
					b.Fatalf("%d rows, %v", n, err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			n := 0
			for {
				var resp Response
				if err := dec.Decode(&resp); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				n += len(resp.Results[0].Series[0].Values)
			}
			if n != rows {
				b.Fatalf("%d rows", n)
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
