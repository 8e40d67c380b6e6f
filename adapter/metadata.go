package adapter

import (
	"strings"
	"sync"

	"github.com/prometheus/prometheus/prompb"
)

// maxMetadataEntries bounds the metadata cache: past it the cache starts
// over, which costs one more write of each family's metadata, never a
// loss.
const maxMetadataEntries = 100_000

// metadataCache remembers, per database and metric family, the metadata
// last stored, so that metadata is written when it changes, not with every
// request (Prometheus resends all of it every minute).
type metadataCache struct {
	mu sync.Mutex
	// seen holds, per database, the metadata last stored per family; a
	// map per database, so that a lookup builds no key (RW 2.0 carries
	// metadata on every series).
	seen    map[string]map[string]prompb.MetricMetadata
	entries int
}

// changed reports whether m differs from what db last stored for its family.
func (c *metadataCache) changed(db string, m prompb.MetricMetadata) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.seen[db][m.MetricFamilyName]
	return !ok || old.Type != m.Type || old.Help != m.Help || old.Unit != m.Unit
}

// stored records that db acknowledged m and keeps m's strings: they must
// not alias a decoded request, whose buffer is reused (the encoder copies
// them before the request is released).
func (c *metadataCache) stored(db string, m prompb.MetricMetadata) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || c.entries >= maxMetadataEntries {
		c.seen, c.entries = make(map[string]map[string]prompb.MetricMetadata), 0
	}
	families := c.seen[db]
	if families == nil {
		families = make(map[string]prompb.MetricMetadata)
		c.seen[strings.Clone(db)] = families
	}
	if _, ok := families[m.MetricFamilyName]; !ok {
		c.entries++
	}
	families[m.MetricFamilyName] = m
}
