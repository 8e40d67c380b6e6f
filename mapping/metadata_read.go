package mapping

import (
	"fmt"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/metadata"
)

// MetadataQuery returns the statement that reads the latest metadata of
// every metric family, or of the family metric alone when it is not "":
//
//	SELECT last("type"::field), last("help"::field), last("unit"::field) FROM <rp>."promflux_metadata" WHERE ("metric"::tag = '<stored>' OR "metric"::tag = '<name>') GROUP BY "metric"
//
// one result series per family stored (its stored name in tag "metric"),
// with one row of three strings: pass them to ReadMetadata. Each write
// stores the three fields together, so the last of each is one write's.
func MetadataQuery(retentionPolicy, metric string) string {
	var b strings.Builder
	b.WriteString(`SELECT last("` + metadataTypeField + `"::field), last("` + metadataHelpField + `"::field), last("` + metadataUnitField + `"::field) FROM `)
	measurementFrom(metadataMeasurement).appendTo(&b, retentionPolicy)
	if metric != "" {
		key := `"` + metadataMetricTag + `"::tag`
		var alts []string
		for _, v := range []string{StoredTagValue(metric), metric} {
			alts = appendUnique(alts, equalCondition(key, v))
		}
		b.WriteString(" WHERE " + orGroup(alts))
	}
	b.WriteString(` GROUP BY "` + metadataMetricTag + `"`)
	return b.String()
}

// MetadataTag is the tag of a MetadataQuery's result series that holds the
// family's stored name.
const MetadataTag = metadataMetricTag

// ReadMetadata reads one row of a MetadataQuery: the family name (the
// stored value of its MetadataTag) and its type, help and unit as stored.
func ReadMetadata(storedMetric, typ, help, unit string) (string, metadata.Metadata, error) {
	name, err := DecodeTagValue(storedMetric)
	if err != nil {
		return "", metadata.Metadata{}, err
	}
	if help, err = decodeStored(help, "help"); err != nil {
		return "", metadata.Metadata{}, fmt.Errorf("metadata of %q: %w", truncate(name, maxQuotedLen), err)
	}
	if unit, err = decodeStored(unit, "unit"); err != nil {
		return "", metadata.Metadata{}, fmt.Errorf("metadata of %q: %w", truncate(name, maxQuotedLen), err)
	}
	return name, metadata.Metadata{Type: model.MetricType(typ), Help: help, Unit: unit}, nil
}
