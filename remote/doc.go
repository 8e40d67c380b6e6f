// Package remote owns the Prometheus remote-storage wire protocols on the
// receiving side: content negotiation from the request headers, snappy block
// decompression under configured size limits, and decoding of Remote-Write 1.0
// (prometheus.WriteRequest) and Remote-Write 2.0 (io.prometheus.write.v2.Request)
// bodies into one version-independent series view, WriteRequest.
//
// Remote-Write 2.0 strings travel as references into a per-request symbol
// table; remote resolves and bounds-checks every reference so that later code
// only ever sees plain labels, exemplars and metadata in prompb types.
//
// Remote-write bodies are decoded by a hand-written protobuf walk rather than
// the generated unmarshallers, so that the write path does not allocate per
// series or sample: the strings of a WriteRequest alias its decompressed
// body, its slices are carved from per-request arenas, and the whole is
// pooled. The walk accepts and refuses exactly what the generated gogo code
// (which Prometheus's own receiver uses) does; a differential fuzz test holds
// it to that. The price is a lifetime: a WriteRequest and everything in it
// is valid until its Release, and strings kept past it must be cloned.
//
// For remote read, remote decodes and validates prometheus.ReadRequest
// (DecodeRead), negotiates the response type, and writes SAMPLES, one
// snappy-compressed prompb.ReadResponse encoded series by series
// (SamplesWriter), or STREAMED_XOR_CHUNKS, CRC-checked frames of chunks
// built sample by sample, one frame held at a time (ChunkedWriter).
// ChunkedReader and DecodeReadResponse are the client side, for tests and
// load generators; EncodeReadRequest and ReadSamplesResponse read float
// samples from another server's remote-read endpoint.
//
// Bodies are read under limits too: a size bound, and a least rate
// (LimitBodyRate) so that a sender trickling its body is cut. A server reads
// a remote-write body whole (ReadWriteBody) before it takes a turn to
// decode it (WriteBody.Decode).
//
// The package must not know InfluxDB, routing, matcher semantics or HTTP
// status codes: it reports failures as errors wrapping ErrUnsupported,
// ErrTooLarge, ErrIncomplete, ErrTooSlow or ErrInvalid and leaves the
// mapping to responses to the caller.
package remote
