package structs

import (
	"bytes"
	"reflect"

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
	return h
}

// Encode msgpack-encodes v.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	err := codec.NewEncoder(&buf, MsgpackHandle).Encode(v)
	return buf.Bytes(), err
}

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
