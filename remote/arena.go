package remote

import (
	"sync"
	"unsafe"

	"github.com/prometheus/prometheus/prompb"
)

// maxPooledArena caps, in bytes, each arena a pooled request keeps for the
// next one: a burst of huge requests must not pin its memory for the life of
// the process.
const maxPooledArena = 8 << 20

// pooledRequest is a WriteRequest with the memory its view is carved from.
// Every slice of the view points into one of the arenas, every string into
// body, so that decoding a request of a size seen before allocates nothing.
type pooledRequest struct {
	// req must stay the first field: Release gets from the *WriteRequest
	// handed out back to the pooledRequest that holds it.
	req WriteRequest

	body       []byte // decompressed body, from decodedBuffers
	series     []Series
	labels     []prompb.Label // series labels
	exLabels   []prompb.Label // exemplar labels, apart so that a series' labels stay contiguous
	samples    []prompb.Sample
	exemplars  []prompb.Exemplar
	histograms []prompb.Histogram
	metadata   []prompb.MetricMetadata

	// each, when set, takes each series that passes the limits of cfg,
	// a Remote-Write 1.0 one as soon as it is decoded, after which its
	// memory is reused (WriteBody.Decode). refused is the first series
	// over a limit, eachErr what each returned; seen counts the series
	// met, handed out or not.
	each             SeriesHandler
	cfg              Config
	refused, eachErr error
	seen             int

	// Remote-Write 2.0 only.
	symbols []string
	refs    []uint32 // label refs of the series being decoded
	exRefs  []uint32 // label refs of the exemplar being decoded

	// pooled is set while p waits in requestPool, to catch a second Release
	// before it corrupts two later requests that would share the arenas.
	pooled bool

	// used is what the view takes so far, in bytes of arena elements, and
	// budget its bound, factor times the body's size (see spend).
	used, budget, factor int
}

// Tiny messages decode into much larger structs (two bytes of an empty
// timeseries into a 192-byte Series), so a small hostile body could take
// gigabytes. The view of a request may take at most a factor times its
// decoded size plus budgetSlack. Real RW 1.0 requests take a few times their
// size (labels of short strings, samples with timestamps); RW 2.0 bodies are
// smaller for the same view, a label being two references of a byte or two
// into the symbols table that become a 64-byte prompb.Label: up to 32 times.
const (
	budgetFactorV1 = 32
	budgetFactorV2 = 64
	budgetSlack    = 1 << 20
)

// Sizes of the arena elements, for spend.
const (
	sizeSeries    = int(unsafe.Sizeof(Series{}))
	sizeLabel     = int(unsafe.Sizeof(prompb.Label{}))
	sizeSample    = int(unsafe.Sizeof(prompb.Sample{}))
	sizeExemplar  = int(unsafe.Sizeof(prompb.Exemplar{}))
	sizeHistogram = int(unsafe.Sizeof(prompb.Histogram{}))
	sizeMetadata  = int(unsafe.Sizeof(prompb.MetricMetadata{}))
	sizeSymbol    = int(unsafe.Sizeof(""))
)

// startBudget sets the budget of a decode of body.
func (p *pooledRequest) startBudget(body []byte, factor int) {
	p.used, p.budget, p.factor = 0, factor*len(body)+budgetSlack, factor
}

// spend charges n elements of size bytes to the request's budget, before
// they are appended, and fails with ErrTooLarge past it.
func (p *pooledRequest) spend(n, size int) error {
	p.used += n * size
	if p.used > p.budget {
		return newError(ErrTooLarge, "decoded request would take more than %d bytes of memory, over %dx its %d bytes: too many empty or tiny messages", p.budget, p.factor, (p.budget-budgetSlack)/p.factor)
	}
	return nil
}

var requestPool = sync.Pool{New: func() any { return new(pooledRequest) }}

func getRequest(version WriteVersion, body []byte) *pooledRequest {
	p := requestPool.Get().(*pooledRequest)
	p.pooled = false
	p.req = WriteRequest{Version: version}
	p.body = body
	return p
}

// release returns p's memory for reuse.
func (p *pooledRequest) release() {
	if p.pooled {
		panic("remote: WriteRequest released twice")
	}
	decodedBuffers.put(p.body)
	// Cleared, not only emptied: their strings point into this request's
	// body and their slices into arrays that may have been replaced, which
	// stale elements would keep from being collected (a body over the
	// buffer pool's cap, an arena over maxPooledArena).
	clear(p.series)
	clear(p.labels)
	clear(p.exLabels)
	clear(p.exemplars)
	clear(p.histograms)
	clear(p.metadata)
	clear(p.symbols)
	*p = pooledRequest{
		series:     reuse(p.series),
		labels:     reuse(p.labels),
		exLabels:   reuse(p.exLabels),
		samples:    reuse(p.samples),
		exemplars:  reuse(p.exemplars),
		histograms: reuse(p.histograms),
		metadata:   reuse(p.metadata),
		symbols:    reuse(p.symbols),
		refs:       reuse(p.refs),
		exRefs:     reuse(p.exRefs),
		pooled:     true,
	}
	requestPool.Put(p)
}

// reuse empties an arena for the next request, or drops it when it has grown
// past maxPooledArena.
func reuse[T any](arena []T) []T {
	var zero T
	if uintptr(cap(arena))*unsafe.Sizeof(zero) > maxPooledArena {
		return nil
	}
	return arena[:0]
}

// appendSeries appends a Series whose slices are what the arenas gained
// since they held labels, samples, exemplars and histograms elements.
func (p *pooledRequest) appendSeries(labels, samples, exemplars, histograms int) (*Series, error) {
	if err := p.spend(1, sizeSeries); err != nil {
		return nil, err
	}
	// Filled in place: Series is large enough for copies to show.
	p.series = append(p.series, Series{})
	s := &p.series[len(p.series)-1]
	s.Labels = carve(p.labels, labels)
	s.Samples = carve(p.samples, samples)
	s.Exemplars = carve(p.exemplars, exemplars)
	s.Histograms = carve(p.histograms, histograms)
	return s, nil
}

// carve returns the elements arena gained since it held start of them, as a
// slice whose capacity ends with it, so that appending to the slice of one
// series cannot overwrite the next one. It returns nil when nothing was
// added, as the generated unmarshallers leave absent repeated fields nil.
func carve[T any](arena []T, start int) []T {
	if len(arena) == start {
		return nil
	}
	return arena[start:len(arena):len(arena)]
}

// Release hands the memory of r back for reuse by later requests. r must
// come from WriteBody.Decode, and Release must be called
// exactly once, when r is no longer needed. After Release, neither r nor
// any string or slice obtained from it may be used: they will hold the data
// of another request. A second Release panics unless the pool handed r's
// memory out again in between.
func (r *WriteRequest) Release() {
	(*pooledRequest)(unsafe.Pointer(r)).release()
}
