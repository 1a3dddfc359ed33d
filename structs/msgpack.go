package structs

import (
	"bytes"
	"reflect"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// MsgpackHandle is the one msgpack configuration orch uses everywhere inside:
// RPC, Raft entries, FSM snapshots and the client's bbolt state.
var MsgpackHandle = newMsgpackHandle(false)

// newMsgpackHandle builds MsgpackHandle's configuration; canonical sorts map
// keys, so that equal values always encode to equal bytes.
func newMsgpackHandle(canonical bool) *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.WriteExt = true
	// Decode map[string]any values (task Config) as maps with string keys.
	h.MapType = reflect.TypeOf(map[string]any(nil))
	// Field names come from `codec` tags only. By default go-msgpack falls
	// back to `json` tags, which would drop Node.SecretID (`json:"-"`, hidden
	// from the HTTP API) from every RPC, Raft entry and snapshot.
	h.TypeInfos = codec.NewTypeInfos([]string{"codec"})
	h.Canonical = canonical
	// NodeScores write their map themselves, as raw msgpack
	// (scores.go); nothing else encodes codec.Raw.
	h.Raw = true
	return h
}

// Encode msgpack-encodes v.
func Encode(v any) ([]byte, error) { return EncodeAfter(nil, v) }

// EncodeAfter msgpack-encodes v after prefix (a Raft entry's type byte):
// one slice of exactly the size of both. The encoding is built in a reused
// buffer and copied out once: a buffer grown from empty allocates about
// twice what it ends with, and Raft entries of large plans are megabytes.
func EncodeAfter(prefix []byte, v any) ([]byte, error) {
	s := encoders.Get().(*scratchEncoder)
	s.buf.Reset()
	s.buf.Write(prefix)
	s.enc.Reset(&s.buf)
	err := s.enc.Encode(v)
	out := bytes.Clone(s.buf.Bytes())
	if s.buf.Cap() <= maxScratch {
		encoders.Put(s)
	}
	return out, err
}

// scratchEncoder is an Encoder with the buffer it writes to.
type scratchEncoder struct {
	buf bytes.Buffer
	enc *codec.Encoder
}

// maxScratch bounds the buffers kept for reuse (larger ones are dropped).
const maxScratch = 8 << 20

var encoders = sync.Pool{New: func() any {
	s := &scratchEncoder{}
	s.enc = codec.NewEncoder(&s.buf, MsgpackHandle)
	return s
}}

// Decode msgpack-decodes buf into out.
func Decode(buf []byte, out any) error {
	return codec.NewDecoderBytes(buf, MsgpackHandle).Decode(out)
}

// canonicalHandle is MsgpackHandle with map keys sorted.
var canonicalHandle = newMsgpackHandle(true)

// EncodeCanonical msgpack-encodes v with map keys sorted: for comparing
// values by their encoding (Encode's map order is random).
func EncodeCanonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	err := codec.NewEncoder(&buf, canonicalHandle).Encode(v)
	return buf.Bytes(), err
}
