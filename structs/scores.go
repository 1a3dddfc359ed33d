package structs

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// NodeScores are one node's scores for one placement, by name, sorted by
// name. They are what Nomad's map[string]float64 holds, in a form that costs
// a server a fraction of it: every allocation keeps the scores of its best
// nodes (AllocMetric.ScoreMetaData), so at a million allocations a map per
// node score was about 1.3 KB per allocation. They encode, in msgpack and
// in JSON, as that map, so Raft entries, snapshots and RPCs are unchanged.
type NodeScores []NodeScore

// NodeScore is one named score.
type NodeScore struct {
	Name  string
	Value float64
}

// NodeScoresOf returns m's scores, sorted by name; known names are shared
// rather than copied.
func NodeScoresOf(m map[string]float64) NodeScores {
	if m == nil {
		return nil
	}
	s := make(NodeScores, 0, len(m))
	for name, v := range m {
		s = append(s, NodeScore{Name: internScoreName(name), Value: v})
	}
	s.Sort()
	return s
}

// Sort sorts the scores by name, the order NodeScores keep.
func (s NodeScores) Sort() {
	slices.SortFunc(s, func(a, b NodeScore) int { return strings.Compare(a.Name, b.Name) })
}

// Get returns the score named name.
func (s NodeScores) Get(name string) (float64, bool) {
	for _, sc := range s {
		if sc.Name == name {
			return sc.Value, true
		}
	}
	return 0, false
}

// Map returns the scores as a map (nil for nil).
func (s NodeScores) Map() map[string]float64 {
	if s == nil {
		return nil
	}
	m := make(map[string]float64, len(s))
	for _, sc := range s {
		m[sc.Name] = sc.Value
	}
	return m
}

// CodecEncodeSelf encodes the scores as a msgpack map of names to float64s,
// written directly (AppendMsgpack): a map built for the encoder was a fifth
// of what encoding a placement cost.
func (s NodeScores) CodecEncodeSelf(e *codec.Encoder) {
	if s == nil {
		e.MustEncode(map[string]float64(nil))
		return
	}
	buf := scoreBufs.Get().(*[]byte)
	*buf = s.AppendMsgpack((*buf)[:0])
	e.MustEncode(codec.Raw(*buf)) // the encoder copies it out
	scoreBufs.Put(buf)
}

var scoreBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// AppendMsgpack appends the msgpack map of the scores to b, keys in the
// scores' (sorted) order: the bytes the canonical encoding of Map gives.
func (s NodeScores) AppendMsgpack(b []byte) []byte {
	switch n := len(s); {
	case n < 16:
		b = append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xde, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdf)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	for _, sc := range s {
		switch n := len(sc.Name); {
		case n < 32:
			b = append(b, 0xa0|byte(n))
		case n <= math.MaxUint8:
			b = append(b, 0xd9, byte(n))
		case n <= math.MaxUint16:
			b = append(b, 0xda, byte(n>>8), byte(n))
		default:
			b = append(b, 0xdb)
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
		b = append(b, sc.Name...)
		b = append(b, 0xcb)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(sc.Value))
	}
	return b
}

// CodecDecodeSelf decodes a msgpack map of scores, read directly
// (DecodeMsgpackScores) rather than through a map.
func (s *NodeScores) CodecDecodeSelf(d *codec.Decoder) {
	var raw codec.Raw
	d.MustDecode(&raw)
	scores, err := DecodeMsgpackScores(raw)
	if err != nil {
		panic(err) // the decoder's way to fail: Decode returns it
	}
	*s = scores
}

// DecodeMsgpackScores reads a msgpack map of names to numbers (nil for a
// msgpack nil), in any key order, as any msgpack encoder writes it.
func DecodeMsgpackScores(b []byte) (NodeScores, error) {
	r := msgpackReader{b: b}
	n, isNil := r.mapLen()
	if isNil || r.err != nil {
		return nil, r.err
	}
	s := make(NodeScores, 0, min(n, uint64(len(b)/2)))
	sorted := true
	for range n {
		name := r.str()
		v := r.number()
		if r.err != nil {
			return nil, r.err
		}
		if len(s) > 0 && s[len(s)-1].Name > string(name) {
			sorted = false
		}
		s = append(s, NodeScore{Name: internScoreNameBytes(name), Value: v})
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("node scores: %d bytes after the map", len(r.b))
	}
	if !sorted {
		s.Sort()
	}
	return s, nil
}

// msgpackReader reads the few msgpack types a map of scores holds; the
// first error sticks.
type msgpackReader struct {
	b   []byte
	err error
}

func (r *msgpackReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("node scores: %s", what)
	}
}

// take returns the next n bytes.
func (r *msgpackReader) take(n uint64) []byte {
	if r.err != nil || uint64(len(r.b)) < n {
		r.fail("truncated")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// uint reads a big-endian unsigned integer of size bytes.
func (r *msgpackReader) uint(size uint64) uint64 {
	var v uint64
	for _, c := range r.take(size) {
		v = v<<8 | uint64(c)
	}
	return v
}

func (r *msgpackReader) mapLen() (n uint64, isNil bool) {
	switch c := r.uint(1); {
	case r.err != nil:
	case c == 0xc0:
		return 0, true
	case c&0xf0 == 0x80:
		return c & 0x0f, false
	case c == 0xde:
		return r.uint(2), false
	case c == 0xdf:
		return r.uint(4), false
	default:
		r.fail(fmt.Sprintf("want a map, found type byte 0x%02x", c))
	}
	return 0, false
}

// str reads a string (or binary) value.
func (r *msgpackReader) str() []byte {
	switch c := r.uint(1); {
	case r.err != nil:
	case c&0xe0 == 0xa0:
		return r.take(c & 0x1f)
	case c == 0xd9, c == 0xc4:
		return r.take(r.uint(1))
	case c == 0xda, c == 0xc5:
		return r.take(r.uint(2))
	case c == 0xdb, c == 0xc6:
		return r.take(r.uint(4))
	default:
		r.fail(fmt.Sprintf("want a score name, found type byte 0x%02x", c))
	}
	return nil
}

// number reads a float or an integer as a float64.
func (r *msgpackReader) number() float64 {
	switch c := r.uint(1); {
	case r.err != nil:
	case c == 0xcb:
		return math.Float64frombits(r.uint(8))
	case c == 0xca:
		return float64(math.Float32frombits(uint32(r.uint(4))))
	case c <= 0x7f:
		return float64(c)
	case c >= 0xe0:
		return float64(int8(c))
	case c >= 0xcc && c <= 0xcf:
		return float64(r.uint(1 << (c - 0xcc)))
	case c >= 0xd0 && c <= 0xd3:
		size := uint64(1) << (c - 0xd0)
		v := r.uint(size)
		shift := 64 - 8*size
		return float64(int64(v<<shift) >> shift)
	default:
		r.fail(fmt.Sprintf("want a score, found type byte 0x%02x", c))
	}
	return 0
}

// MarshalJSON encodes the scores as a JSON object.
func (s NodeScores) MarshalJSON() ([]byte, error) { return json.Marshal(s.Map()) }

// UnmarshalJSON decodes a JSON object of scores.
func (s *NodeScores) UnmarshalJSON(b []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*s = NodeScoresOf(m)
	return nil
}

// scoreNames are the scheduler's score names (scheduler/*.go), shared by
// every decoded score instead of one string each.
var scoreNames = map[string]string{
	"binpack": "binpack", "job-anti-affinity": "job-anti-affinity", "node-affinity": "node-affinity",
	"allocation-spread": "allocation-spread", "node-reschedule-penalty": "node-reschedule-penalty",
}

func internScoreName(name string) string {
	if n, ok := scoreNames[name]; ok {
		return n
	}
	return name
}

// internScoreNameBytes is internScoreName of a name being decoded: a
// known name costs no allocation.
func internScoreNameBytes(name []byte) string {
	if n, ok := scoreNames[string(name)]; ok {
		return n
	}
	return string(name)
}
