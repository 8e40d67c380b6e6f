package mapping

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

func TestExemplarQuery(t *testing.T) {
	got := mustSelection(t, pm(eq, "__name__", "rpc_seconds"), pm(eq, "job", "api")).ExemplarQuery("rp")
	want := `SELECT "exemplar_value"::field, "exemplar_value_special"::field, "exemplar_labels"::field FROM "rp"."rpc_seconds" WHERE "job"::tag = 'api' AND ` + timeRange + ` GROUP BY *`
	if got != want {
		t.Errorf("ExemplarQuery()\n got %s\nwant %s", got, want)
	}
	if _, err := modelTokenize(got); err != nil {
		t.Errorf("%s does not scan: %v", got, err)
	}
}

// TestParseLabelsText: what appendLabelsText writes reads back as the
// same labels, whatever their bytes.
func TestParseLabelsText(t *testing.T) {
	for _, lbls := range [][]prompb.Label{
		nil,
		{{Name: "trace_id", Value: "abc"}},
		{{Name: "span_id", Value: "00f0"}, {Name: "trace_id", Value: "4bf9"}},
		{{Name: "a", Value: ""}, {Name: "quote", Value: `say "hi", \ back`}},
		{{Name: "odd name", Value: "x"}, {Name: "é", Value: "😀\n\t\x00\xff"}, {Name: "_9", Value: "}{,="}},
		{{Name: "a=b,c", Value: "v"}, {Name: `"`, Value: `"`}},
	} {
		text := string(appendLabelsText(nil, lbls))
		got, err := ParseLabelsText(text)
		if err != nil {
			t.Errorf("ParseLabelsText(%s): %v", text, err)
			continue
		}
		var b labels.ScratchBuilder
		for _, l := range lbls {
			b.Add(l.Name, l.Value)
		}
		b.Sort()
		if want := b.Labels(); !labels.Equal(got, want) {
			t.Errorf("ParseLabelsText(%s) = %v, want %v", text, got, want)
		}
	}
}

func TestParseLabelsTextInvalid(t *testing.T) {
	for _, s := range []string{"", "{", "}", `a="b"`, `{a="b"`, `{a="b",}`, `{a="b" c="d"}`, `{a=b}`, `{="b"}`, `{9a="b"}`, `{a="b}`, `{"a="b"}`, `{a}`} {
		if lbls, err := ParseLabelsText(s); err == nil {
			t.Errorf("ParseLabelsText(%q) = %v, want an error", s, lbls)
		}
	}
}

func TestReadExemplar(t *testing.T) {
	v, lbls, err := ReadExemplar(0.25, math.NaN(), `{trace_id="abc"}`)
	if err != nil || v != 0.25 || !labels.Equal(lbls, labels.FromStrings("trace_id", "abc")) {
		t.Errorf("ReadExemplar() = %v, %v, %v", v, lbls, err)
	}
	// A stale marker's code gives the stale NaN back, bit for bit.
	v, lbls, err = ReadExemplar(math.NaN(), 3, `{}`)
	if err != nil || math.Float64bits(v) != value.StaleNaN || !lbls.IsEmpty() {
		t.Errorf("ReadExemplar(special 3) = %x, %v, %v", math.Float64bits(v), lbls, err)
	}
	if _, _, err := ReadExemplar(math.NaN(), math.NaN(), `{}`); err == nil || !strings.Contains(err.Error(), "exemplar_value") {
		t.Errorf("ReadExemplar without a value: %v", err)
	}
	if _, _, err := ReadExemplar(1, math.NaN(), `trace`); err == nil || !strings.Contains(err.Error(), "exemplar_labels") {
		t.Errorf("ReadExemplar with bad labels: %v", err)
	}
}
