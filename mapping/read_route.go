package mapping

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// ReadDatabases returns the databases that can hold series matching ms
// under the routes, in the order of first appearance. Writes send a series
// to the first route that matches it, so for each route in order:
//
//   - a route provably disjoint from ms is skipped;
//   - otherwise its database is read;
//   - if ms implies each of the route's matchers, no later route and not
//     the default can hold matching series: stop.
//
// If no route stopped the loop, the default database is read last. The
// answer assumes the routes have not changed since the data was written.
func (r *Router) ReadDatabases(ms []*labels.Matcher) []string {
	var dbs []string
	for i := range r.routes {
		rm := r.routes[i].matchers
		if disjoint(rm, ms) {
			continue
		}
		if !slices.Contains(dbs, r.routes[i].Database) {
			dbs = append(dbs, r.routes[i].Database)
		}
		if impliesAll(ms, rm) {
			return dbs
		}
	}
	if !slices.Contains(dbs, r.defaultDatabase) {
		dbs = append(dbs, r.defaultDatabase)
	}
	return dbs
}

// disjoint reports whether no series can match both a and b: one side
// requires a label to equal a value that a matcher on the other side
// rejects. A label the series lacks is the value "". Regex against regex
// is never proven disjoint.
func disjoint(a, b []*labels.Matcher) bool {
	return rejectsRequired(a, b) || rejectsRequired(b, a)
}

func rejectsRequired(eq, other []*labels.Matcher) bool {
	for _, e := range eq {
		if e.Type != labels.MatchEqual {
			continue
		}
		for _, o := range other {
			if o.Name == e.Name && !o.Matches(e.Value) {
				return true
			}
		}
	}
	return false
}

// impliesAll reports whether every series matching ms matches every
// matcher of route: each has an identical matcher in ms, or ms requires
// its label to equal a value it accepts.
func impliesAll(ms, route []*labels.Matcher) bool {
	for _, rm := range route {
		if !implies(ms, rm) {
			return false
		}
	}
	return true
}

func implies(ms []*labels.Matcher, rm *labels.Matcher) bool {
	for _, m := range ms {
		if m.Name != rm.Name {
			continue
		}
		if m.Type == rm.Type && m.Value == rm.Value {
			return true
		}
		if m.Type == labels.MatchEqual && rm.Matches(m.Value) {
			return true
		}
	}
	return false
}
