package structs

import (
	"bytes"
	"reflect"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// The hot structs — an allocation and its parts, the plan and its result,
// the evaluation, and the client's heartbeat, fetch and report messages —
// encode through code codecgen generates (codec.generated.go) instead of
// reflection: 1.4 to 3 times faster, and a server encodes or decodes every
// allocation several times (plan, Raft entry on each server, client fetch,
// client report). Regenerate after changing one of these types (go generate
// ./structs); TestGeneratedCodecMatchesReflection fails until then. -st codec
// reads the `codec` tags only, as MsgpackHandle does. The sed after it makes
// the decoders match a field's name without copying it into a string
// (go-msgpack v2 has no unsafe string views: that copy was a third of what
// decoding an allocation allocated).
//
//go:generate go run github.com/hashicorp/go-msgpack/v2/codec/codecgen -c github.com/hashicorp/go-msgpack/v2/codec -st codec -d 1 -o codec.generated.go -r ^(Allocation|TaskState|TaskEvent|AllocMetric|NodeScoreMeta|AllocatedResources|AllocatedSharedResources|Resources|AllocDeploymentStatus|DesiredTransition|RescheduleTracker|RescheduleEvent|AllocUpdateRequest|AllocsGetResponse|AllocsGetRequest|Plan|PlanResult|Evaluation|NodeUpdateStatusRequest|NodeUpdateResponse|NodeSpecificRequest|NodeClientAllocsResponse)$ alloc.go alloc_health.go job.go migrate.go reschedule.go plan.go eval.go rpc.go
//go:generate sed -i -E -e "s/(yys[0-9]+) := z\\.StringView\\(r\\.DecodeStringAsBytes\\(\\)\\)/\\1 := r.DecodeStringAsBytes()/" -e "s/switch (yys[0-9]+) \\{/switch string(\\1) {/" -e "s/DecStructFieldNotFound\\(-1, (yys[0-9]+)\\)/DecStructFieldNotFound(-1, string(\\1))/" codec.generated.go

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
