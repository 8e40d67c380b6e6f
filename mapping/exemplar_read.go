package mapping

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// ExemplarQuery returns the statement that selects the exemplars of every
// stored series that may match, in the time range:
//
//	SELECT "exemplar_value"::field, "exemplar_value_special"::field, "exemplar_labels"::field FROM <from> WHERE <prefilter> AND time >= <start> AND time <= <end> GROUP BY *
//
// InfluxDB leaves out the rows whose three fields are all null, so that
// only exemplar points come back, in time order per series. The result
// may hold series the matchers reject: decode each with SeriesLabels and
// keep those Matches accepts; read each row with ReadExemplar.
func (s *Selection) ExemplarQuery(retentionPolicy string) string {
	var b strings.Builder
	b.WriteString(exemplarSelect)
	s.from.appendTo(&b, retentionPolicy)
	s.appendWhere(&b)
	b.WriteString(" GROUP BY *")
	return b.String()
}

const exemplarSelect = `SELECT "` + exemplarValueField + `"::field, "` + exemplarValueField + specialSuffix + `"::field, "` + exemplarLabelsField + `"::field FROM `

// ReadExemplar reads one row of an ExemplarQuery: the exemplar's value,
// from exemplar_value or, when that is null (NaN), the code of
// exemplar_value_special, and its labels, from the text form of
// exemplar_labels.
func ReadExemplar(value, special float64, labelsText string) (float64, labels.Labels, error) {
	if math.IsNaN(value) {
		v, err := SpecialValue(special)
		if err != nil {
			return 0, labels.EmptyLabels(), fmt.Errorf("%s: %w", exemplarValueField, err)
		}
		value = v
	}
	lbls, err := ParseLabelsText(labelsText)
	if err != nil {
		return 0, labels.EmptyLabels(), fmt.Errorf("%s %q: %w", exemplarLabelsField, truncate(labelsText, maxQuotedLen), err)
	}
	return value, lbls, nil
}

// ParseLabelsText reads labels in the text form appendLabelsText writes,
// {a="1",b="2"}: names bare or double-quoted, values double-quoted, both
// with Go's escapes. The labels are sorted by name, as written.
func ParseLabelsText(s string) (labels.Labels, error) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return labels.EmptyLabels(), errors.New("not in braces")
	}
	var b labels.ScratchBuilder
	rest := s[1 : len(s)-1]
	for rest != "" {
		var name string
		if rest[0] == '"' {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return labels.EmptyLabels(), fmt.Errorf("label name: %w", err)
			}
			name, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			i := 0
			for i < len(rest) && isNameByte(rest[i], i == 0) {
				i++
			}
			if i == 0 {
				return labels.EmptyLabels(), errors.New("label name expected")
			}
			name, rest = rest[:i], rest[i:]
		}
		if rest == "" || rest[0] != '=' {
			return labels.EmptyLabels(), fmt.Errorf("'=' expected after label name %q", truncate(name, maxQuotedLen))
		}
		q, err := strconv.QuotedPrefix(rest[1:])
		if err != nil {
			return labels.EmptyLabels(), fmt.Errorf("value of label %q: %w", truncate(name, maxQuotedLen), err)
		}
		value, _ := strconv.Unquote(q)
		b.Add(name, value)
		rest = rest[1+len(q):]
		if rest != "" {
			if rest[0] != ',' || len(rest) == 1 {
				return labels.EmptyLabels(), fmt.Errorf("',' and a label expected after label %q", truncate(name, maxQuotedLen))
			}
			rest = rest[1:]
		}
	}
	b.Sort()
	return b.Labels(), nil
}

// isNameByte reports whether c may be byte i of a classic label name,
// [a-zA-Z_][a-zA-Z0-9_]*.
func isNameByte(c byte, first bool) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || (!first && '0' <= c && c <= '9')
}
