package adapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/remote"
)

// maxRefusedInMessage is how many refused series a 400 names; the rest are
// counted. Prometheus logs the whole body, so it must stay short.
const maxRefusedInMessage = 3

// dbWrite is what one request writes to one database: the line protocol
// of its series routed there, counted, and the outcome of the write.
type dbWrite struct {
	pool       *influxworker.Pool
	lines      []byte
	samples    int // float samples encoded into lines
	histograms int // histogram samples encoded into lines
	exemplars  int // exemplars encoded into lines
	received   int // float samples routed here, written or not
	metadata   []prompb.MetricMetadata
	err        error
}

// maxPooledDBWriteBytes keeps the buffers of rare huge requests out of the
// pool, so that one burst does not pin its memory for the process lifetime.
const maxPooledDBWriteBytes = 4 << 20

var dbWritePool = sync.Pool{New: func() any { return &dbWrite{} }}

// writeOutcome is what one remote-write request did, for the answer.
type writeOutcome struct {
	samplesWritten    int
	histogramsWritten int
	exemplarsWritten  int
	refused           []string // reasons of the first refused series
	refusedCount      int
	unavailable       []string
	overloaded        bool // a database's pool was overloaded
	rejected          []string
}

// handleWrite serves POST /api/v1/write. It answers 204 only after every
// sample of the request was acknowledged by its database; 503 when a
// database is down or slow (Prometheus retries, nothing is lost); 400 when
// the request or some of its series are bad (the valid rest is written).
func (s *Server) handleWrite(w http.ResponseWriter, r *http.Request) {
	v, verr := remote.NegotiateWrite(r.Header)
	if verr == nil {
		s.metrics.writeRequests.WithLabelValues(v.String()).Inc()
	}
	out, err := s.write(w, r)
	if verr == nil && v == remote.WriteV2 {
		// RW 2.0 senders learn from these what was stored, on errors too.
		remote.SetWrittenHeaders(w.Header(), out.samplesWritten, out.histogramsWritten, out.exemplarsWritten)
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// write reads, decodes, routes, encodes and stores one remote-write
// request.
func (s *Server) write(w http.ResponseWriter, r *http.Request) (writeOutcome, error) {
	var out writeOutcome
	st := s.state.Load()
	queryDB := ""
	if db := r.URL.Query().Get("db"); db != "" {
		if st.pools[db] == nil {
			return out, badRequest(fmt.Sprintf("unknown database %q in ?db= (configured: %s)", db, strings.Join(st.names(), ", ")))
		}
		queryDB = db
	}
	if err := st.admit(queryDB); err != nil {
		// The body is left unread: net/http would read it before
		// answering unless the connection closes.
		w.Header().Set("Connection", "close")
		return out, overloaded(st.cfg.Write.OverloadStatus, "overloaded, retry later: "+err.Error())
	}
	writes, err := s.readAndEncode(w, r, st, queryDB, &out)
	if err != nil {
		return out, err
	}
	s.store(r.Context(), writes)
	for db, dw := range writes {
		s.metrics.samplesReceived.WithLabelValues(db).Add(float64(dw.received))
		switch {
		case dw.err == nil:
			out.samplesWritten += dw.samples
			out.histogramsWritten += dw.histograms
			out.exemplarsWritten += dw.exemplars
			for _, m := range dw.metadata {
				s.metadata.stored(db, m)
			}
		case influxworker.IsPermanent(dw.err):
			out.rejected = append(out.rejected, dw.err.Error())
		default:
			out.overloaded = out.overloaded || influxworker.IsOverloaded(dw.err)
			out.unavailable = append(out.unavailable, dw.err.Error())
		}
		releaseDBWrite(dw)
	}
	return out, out.err(st.cfg.Write.OverloadStatus)
}

// readAndEncode reads the body of r, then decodes and encodes it
// (decodeAndEncode). The request counts as in flight
// (state.writesInFlight) until then.
func (s *Server) readAndEncode(w http.ResponseWriter, r *http.Request, st *state, queryDB string, out *writeOutcome) (map[string]*dbWrite, error) {
	st.writesInFlight.Add(1)
	defer st.writesInFlight.Add(-1)
	remote.LimitBodyRate(w, r, st.cfg.Limits)
	body, err := remote.ReadWriteBody(r, st.cfg.Limits)
	if err != nil {
		return nil, s.decodeError(err)
	}
	defer body.Release()
	return s.decodeAndEncode(r.Context(), st, &body, queryDB, out)
}

// takeWriteSlot waits for the turn of a request to be decoded and
// encoded: these take all the CPU they get and several times the body's
// memory, so at most write.max_concurrency requests do it at once; one
// core fewer than GOMAXPROCS while more requests are in flight than that
// (backlogged); and only one while a database's pool is saturated
// (congested). It gives up after write.max_wait with an overload error,
// or when ctx ends (the sender left). release ends the turn.
func (s *Server) takeWriteSlot(ctx context.Context, st *state) (release func(), err error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	if err := s.waitTurn(ctx, st, st.writeSlots, &timer); err != nil {
		return nil, err
	}
	var turn chan struct{}
	switch {
	case st.congested():
		// A saturated pool refuses most of what is decoded for it:
		// decoding more requests at once would only refuse them sooner,
		// with the CPU that InfluxDB and everything else on the machine
		// need (a flood of senders that do not back off). Requests for
		// the other databases still get through, one at a time.
		turn = st.congestedSlot
	case st.backlogged():
		// Decoding runs for milliseconds without blocking: with every
		// core at it, the goroutines readied by the network (the bodies
		// of the requests in flight, a health check) wait in the
		// scheduler's queue behind the decoders, for 100 ms and more at
		// the start of a flood. One core is left to them.
		turn = st.backlogSlots
	default:
		return func() { <-st.writeSlots }, nil
	}
	if err := s.waitTurn(ctx, st, turn, &timer); err != nil {
		<-st.writeSlots
		return nil, err
	}
	return func() { <-turn; <-st.writeSlots }, nil
}

// waitTurn puts a token into slots (st.writeSlots, st.backlogSlots or
// st.congestedSlot), waiting until write.max_wait after the first wait of
// the request (*timer, started then) at most.
func (s *Server) waitTurn(ctx context.Context, st *state, slots chan struct{}, timer **time.Timer) error {
	select {
	case slots <- struct{}{}:
		return nil
	default:
	}
	s.metrics.writesWaiting.Inc()
	defer s.metrics.writesWaiting.Dec()
	wait := time.Duration(st.cfg.Write.MaxWait)
	if *timer == nil {
		*timer = time.NewTimer(wait)
	}
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return unavailable("gave up waiting to be decoded: " + ctx.Err().Error())
	case <-(*timer).C:
		turn := fmt.Sprintf("one of the %d requests decoded at once (write.max_concurrency)", cap(st.writeSlots))
		switch slots {
		case st.backlogSlots:
			turn = fmt.Sprintf("one of the %d requests decoded at once while more than write.max_concurrency (%d) are in flight",
				cap(st.backlogSlots), cap(st.writeSlots))
		case st.congestedSlot:
			turn = "the one request decoded at a time while a database's pool is saturated"
		}
		return overloaded(st.cfg.Write.OverloadStatus, fmt.Sprintf("overloaded, retry later: waited %s for %s", wait, turn))
	}
}

// decodeAndEncode decodes body and encodes its series into one dbWrite
// per database, in its turn (takeWriteSlot), taken only once the body has
// arrived, so that a sender trickling its body holds no turn. The
// dbWrites hold no reference to the decoded request, which is released
// before they are stored: requests waiting for InfluxDB keep only lines.
func (s *Server) decodeAndEncode(ctx context.Context, st *state, body *remote.WriteBody, queryDB string, out *writeOutcome) (map[string]*dbWrite, error) {
	release, err := s.takeWriteSlot(ctx, st)
	if err != nil {
		return nil, err
	}
	defer release()
	// Each series is encoded as soon as it is decoded, while its bytes
	// are in the processor's caches.
	e := newEncoder(s, st, queryDB, out)
	defer e.release()
	req, err := body.Decode(e)
	if err != nil {
		e.drop()
		*out = writeOutcome{}
		return nil, s.decodeError(err)
	}
	defer req.Release()
	return e.finish(req.Metadata), nil
}

// newEncoder starts the encoding of one request. queryDB, when set, is the
// database ?db= chose for the whole request. The encoder goes back to its
// pool with release.
func newEncoder(s *Server, st *state, queryDB string, out *writeOutcome) *encoder {
	e := encoderPool.Get().(*encoder)
	*e = encoder{s: s, st: st, queryDB: queryDB, out: out, writes: make(map[string]*dbWrite, 1)}
	return e
}

var encoderPool = sync.Pool{New: func() any { return new(encoder) }}

// release hands e back to encoderPool; the dbWrites finish returned are
// the caller's.
func (e *encoder) release() {
	*e = encoder{}
	encoderPool.Put(e)
}

// drop hands back the dbWrites of a request that will not be written.
func (e *encoder) drop() {
	for _, dw := range e.writes {
		releaseDBWrite(dw)
	}
}

// finish encodes the request's Remote-Write 1.0 metadata, counts what
// was skipped and refused, and returns the line protocol of every series
// encoded, routed into one dbWrite per database.
func (e *encoder) finish(metadata []prompb.MetricMetadata) map[string]*dbWrite {
	s, out := e.s, e.out
	for _, m := range metadata {
		e.metadata(m)
	}
	for reason := range mapping.NumSkipReasons {
		floats, hists, exemplars := e.counts.Skipped[reason], e.counts.HistogramsSkipped[reason], e.counts.ExemplarsSkipped[reason]
		if floats+hists+exemplars == 0 {
			continue
		}
		s.metrics.samplesSkipped.WithLabelValues(reason.String()).Add(float64(floats))
		s.metrics.histsSkipped.WithLabelValues(reason.String()).Add(float64(hists))
		s.metrics.exemplarsSkip.WithLabelValues(reason.String()).Add(float64(exemplars))
		if ok, left := s.skips.allow(time.Now()); ok {
			level.Warn(s.logger).Log("msg", "samples not written: InfluxDB cannot store them", "reason", reason,
				"samples", floats, "histograms", hists, "exemplars", exemplars, "requests_not_logged", left)
		}
	}
	if out.refusedCount > 0 {
		s.metrics.seriesRefused.Add(float64(out.refusedCount))
	}
	return e.writes
}

// encoder holds the state of encoding one request.
type encoder struct {
	s       *Server
	st      *state
	queryDB string // the database ?db= named, or ""
	out     *writeOutcome
	writes  map[string]*dbWrite
	lastDB  string // the database of the last series, and its dbWrite
	last    *dbWrite
	counts  mapping.Counts
	now     int64 // ms, taken once per request for metadata points
	// metadataAdded holds the database and family of the metadata points
	// added by this request, changed ones only: rare.
	metadataAdded map[string]bool
}

// releaseDBWrite hands dw back to dbWritePool, unless its buffer grew too
// large to keep.
func releaseDBWrite(dw *dbWrite) {
	if cap(dw.lines) <= maxPooledDBWriteBytes {
		*dw = dbWrite{lines: dw.lines[:0]}
		dbWritePool.Put(dw)
	}
}

// route returns the database lbls route to and the dbWrite of it.
func (e *encoder) route(lbls []prompb.Label) (string, *dbWrite) {
	db := e.queryDB
	if db == "" {
		db = e.st.router.Route(lbls)
	}
	// Series of one request mostly go to one database: the map is looked
	// up only when the database changes.
	if e.last != nil && db == e.lastDB {
		return db, e.last
	}
	dw := e.writes[db]
	if dw == nil {
		dw = dbWritePool.Get().(*dbWrite)
		dw.pool = e.st.pools[db]
		e.writes[db] = dw
	}
	e.lastDB, e.last = db, dw
	return db, dw
}

// Series encodes one series whole or not at all (remote.SeriesHandler):
// an invalid label set, or one invalid histogram, refuses the series and
// nothing of it is written. It always returns nil: a refused series is
// counted in the outcome, and the rest of the request goes on.
func (e *encoder) Series(ser *remote.Series) error {
	if len(ser.Samples)+len(ser.Histograms)+len(ser.Exemplars) == 0 && !hasMetadata(ser.Metadata) {
		return nil
	}
	db, dw := e.route(ser.Labels)
	dw.received += len(ser.Samples)
	mark, before := len(dw.lines), e.counts
	lines, err := mapping.AppendSeries(dw.lines, ser.Labels, ser.Samples, ser.CreatedTimestamp, &e.counts)
	if err == nil {
		lines, err = mapping.AppendHistograms(lines, ser.Labels, ser.Histograms, ser.CreatedTimestamp, &e.counts)
	}
	if err == nil {
		lines, err = mapping.AppendExemplars(lines, ser.Labels, ser.Exemplars, &e.counts)
	}
	if err != nil {
		dw.lines, e.counts = lines[:mark], before
		e.refuse(err)
		return nil
	}
	dw.lines = lines
	dw.samples += e.counts.Points - before.Points
	dw.histograms += e.counts.Histograms - before.Histograms
	dw.exemplars += e.counts.Exemplars - before.Exemplars
	if hasMetadata(ser.Metadata) {
		// Remote-Write 2.0 carries metadata per series, without the family
		// name: the series' metric name is it.
		m := ser.Metadata
		m.MetricFamilyName = metricName(ser.Labels)
		e.appendMetadata(db, dw, m)
	}
	return nil
}

// metadata encodes Remote-Write 1.0 metadata, sent to the database a series
// of that metric name alone would be routed to.
func (e *encoder) metadata(m prompb.MetricMetadata) {
	db, dw := e.route([]prompb.Label{{Name: "__name__", Value: m.MetricFamilyName}})
	e.appendMetadata(db, dw, m)
}

// appendMetadata writes m unless db already stored it: Prometheus sends the
// same metadata over and over.
func (e *encoder) appendMetadata(db string, dw *dbWrite, m prompb.MetricMetadata) {
	if m.MetricFamilyName == "" || !e.s.metadata.changed(db, m) {
		return
	}
	// RW 2.0 repeats a family's metadata on each of its series: one point
	// per family and request is enough.
	key := db + "\xff" + m.MetricFamilyName
	if e.metadataAdded[key] {
		return
	}
	if e.metadataAdded == nil {
		e.metadataAdded = make(map[string]bool)
	}
	e.metadataAdded[key] = true
	if e.now == 0 {
		e.now = time.Now().UnixMilli()
	}
	dw.lines = mapping.AppendMetadata(dw.lines, m, e.now)
	// A copy: m's strings alias the request, released before the dbWrite
	// is stored; the metadata cache keeps this copy once it is.
	dw.metadata = append(dw.metadata, prompb.MetricMetadata{
		Type:             m.Type,
		MetricFamilyName: strings.Clone(m.MetricFamilyName),
		Help:             strings.Clone(m.Help),
		Unit:             strings.Clone(m.Unit),
	})
}

func (e *encoder) refuse(err error) {
	e.out.refusedCount++
	if len(e.out.refused) < maxRefusedInMessage {
		e.out.refused = append(e.out.refused, err.Error())
	}
}

func hasMetadata(m prompb.MetricMetadata) bool {
	return m.Type != prompb.MetricMetadata_UNKNOWN || m.Help != "" || m.Unit != ""
}

func metricName(lbls []prompb.Label) string {
	for _, l := range lbls {
		if l.Name == "__name__" {
			return l.Value
		}
	}
	return ""
}

// store writes every dbWrite to its database, in parallel, and waits for all
// of them: the request is answered only when every database answered.
func (s *Server) store(ctx context.Context, writes map[string]*dbWrite) {
	if len(writes) == 1 {
		for _, dw := range writes {
			dw.err = dw.pool.Write(ctx, dw.lines)
		}
		return
	}
	var wg sync.WaitGroup
	for _, dw := range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dw.err = dw.pool.Write(ctx, dw.lines)
		}()
	}
	wg.Wait()
}

// err turns the outcome into the answer's error, most urgent first: a
// database that could not take the data (503, or overloadStatus when
// overloaded), for which Prometheus resends the whole request, harmlessly
// (see influxworker.Pool.Write); then refusals (400, not retried).
func (o *writeOutcome) err(overloadStatus int) error {
	switch {
	case o.overloaded:
		return overloaded(overloadStatus, "overloaded, retry later: "+strings.Join(o.unavailable, "; "))
	case len(o.unavailable) > 0:
		return unavailable("cannot store samples, retry later: " + strings.Join(o.unavailable, "; "))
	case len(o.rejected) > 0:
		return badRequest("database refused the samples: " + strings.Join(o.rejected, "; "))
	}
	if o.refusedCount == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d series refused: %s", o.refusedCount, strings.Join(o.refused, "; "))
	if more := o.refusedCount - len(o.refused); more > 0 {
		msg += fmt.Sprintf("; and %d more", more)
	}
	return badRequest(msg + " (the other series were written)")
}

// decodeError gives a failure to read or decode a request its status
// code, and counts the bodies cut for their slowness.
func (s *Server) decodeError(err error) error {
	switch {
	case errors.Is(err, remote.ErrTooSlow):
		s.metrics.bodiesTooSlow.Inc()
		// Maybe a sender on a slow link: it may send it again.
		return unavailable(err.Error())
	case errors.Is(err, remote.ErrUnsupported):
		return unsupportedMediaType(err.Error())
	case errors.Is(err, remote.ErrTooLarge):
		return tooLarge(err.Error())
	case errors.Is(err, remote.ErrIncomplete):
		// Nothing was wrong with what arrived: the sender may retry.
		return unavailable(err.Error())
	default:
		return badRequest(err.Error())
	}
}

// admit refuses a request before it is read when the one database it can
// go to (queryDB, or the only one configured) cannot take a write now:
// under a flood, reading and decoding requests only to refuse them would
// take the CPU that InfluxDB and the requests it can take need.
func (st *state) admit(queryDB string) error {
	if queryDB == "" && len(st.pools) == 1 {
		queryDB = st.cfg.Databases[0].Name
	}
	if queryDB == "" {
		return nil
	}
	return st.pools[queryDB].Admit()
}

// backlogged reports whether more write requests are in flight than may
// be decoded at once (write.max_concurrency).
func (st *state) backlogged() bool {
	return st.writesInFlight.Load() > int64(cap(st.writeSlots))
}

// congested reports whether a database's pool is saturated: it refuses
// most writes.
func (st *state) congested() bool {
	for _, p := range st.pools {
		if p.Saturated() {
			return true
		}
	}
	return false
}

func (st *state) names() []string {
	names := make([]string, 0, len(st.cfg.Databases))
	for _, d := range st.cfg.Databases {
		names = append(names, d.Name)
	}
	return names
}
