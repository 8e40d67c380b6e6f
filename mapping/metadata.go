package mapping

import (
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/prompb"
)

// Metadata schema: one point per metric family and write.
const (
	// metadataMeasurement is the measurement that holds metric metadata.
	metadataMeasurement = "promflux_metadata"
	// metadataMetricTag is the tag that holds the metric family name, in
	// the stored form of a label value (see StoredTagValue).
	metadataMetricTag = "metric"
	// metadataTypeField is the string field with the metric type as
	// Prometheus writes it: counter, gauge, histogram, gaugehistogram,
	// summary, info, stateset or unknown.
	metadataTypeField = "type"
	// metadataHelpField is the string field with the help text.
	metadataHelpField = "help"
	// metadataUnitField is the string field with the unit.
	metadataUnitField = "unit"
)

// metadataTypeName returns the stored name of a metric type: the enum name
// lower-cased, "unknown" for values Prometheus does not define.
func metadataTypeName(t prompb.MetricMetadata_MetricType) string {
	switch t {
	case prompb.MetricMetadata_COUNTER:
		return "counter"
	case prompb.MetricMetadata_GAUGE:
		return "gauge"
	case prompb.MetricMetadata_HISTOGRAM:
		return "histogram"
	case prompb.MetricMetadata_GAUGEHISTOGRAM:
		return "gaugehistogram"
	case prompb.MetricMetadata_SUMMARY:
		return "summary"
	case prompb.MetricMetadata_INFO:
		return "info"
	case prompb.MetricMetadata_STATESET:
		return "stateset"
	}
	return "unknown"
}

// AppendMetadata appends the metadata of one metric family to dst as one
// line-protocol line at nowMs, since metadata has no time of its own, and
// returns the extended buffer:
//
//	promflux_metadata,metric=http_requests_total type="counter",help="Requests served.",unit="" <nowMs>
//
// It appends nothing for a family name that cannot be stored: empty, not
// valid UTF-8, or too long for InfluxDB's key limit.
func AppendMetadata(dst []byte, m prompb.MetricMetadata, nowMs int64) []byte {
	name := m.MetricFamilyName
	if name == "" || !utf8.ValidString(name) {
		return dst
	}
	start := len(dst)
	dst = append(dst, metadataMeasurement+","+metadataMetricTag+"="...)
	dst = appendStored(dst, name, posTagValue)
	if len(dst)-start > maxKeyLen-len(keyFieldSeparator)-len(metadataTypeField) {
		return dst[:start]
	}
	dst = append(dst, " "+metadataTypeField+"=\""...)
	dst = append(dst, metadataTypeName(m.Type)...)
	dst = append(dst, "\","+metadataHelpField+"=\""...)
	dst = appendStringFieldValue(dst, m.Help)
	dst = append(dst, "\","+metadataUnitField+"=\""...)
	dst = appendStringFieldValue(dst, m.Unit)
	dst = append(dst, '"')
	return appendTimestamp(dst, nowMs)
}

// appendStringFieldValue appends s as the inside of a line-protocol string
// field value: '"' and '\' escaped, the rest, newlines included, as it is
// (InfluxDB 1.x stores it unchanged). A string that is not valid UTF-8,
// which InfluxDB's JSON answers would not carry, or that starts with
// encodedPrefix takes the reversible form.
func appendStringFieldValue(dst []byte, s string) []byte {
	if strings.HasPrefix(s, encodedPrefix) || !utf8.ValidString(s) {
		dst = append(dst, encodedPrefix...)
		return appendBase64URL(dst, s)
	}
	start := len(dst)
	dst = append(dst, s...)
	return escapeStringInPlace(dst, start)
}

// escapeStringInPlace backslash-escapes '"' and '\' in dst[start:], working
// backwards so that no scratch buffer is needed.
func escapeStringInPlace(dst []byte, start int) []byte {
	n := 0
	for _, c := range dst[start:] {
		if c == '"' || c == '\\' {
			n++
		}
	}
	if n == 0 {
		return dst
	}
	end := len(dst)
	dst = append(dst, make([]byte, n)...)
	w := len(dst)
	for r := end - 1; r >= start; r-- {
		c := dst[r]
		w--
		dst[w] = c
		if c == '"' || c == '\\' {
			w--
			dst[w] = '\\'
		}
	}
	return dst
}
