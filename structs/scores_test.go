package structs

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// NodeScores encode as Nomad's map in msgpack (Raft entries, snapshots,
// RPCs) and JSON, and decode from it: an entry written before they existed
// decodes to the same scores.
func TestNodeScoresEncodeAsAMap(t *testing.T) {
	meta := &NodeScoreMeta{NodeID: "n1", NormScore: 0.5,
		Scores: NodeScores{{Name: "binpack", Value: 0.75}, {Name: "job-anti-affinity", Value: -0.25}}}

	// What older builds wrote: the same struct with a map.
	type oldMeta struct {
		NodeID    string
		Scores    map[string]float64
		NormScore float64
	}
	old := oldMeta{NodeID: "n1", NormScore: 0.5, Scores: map[string]float64{"job-anti-affinity": -0.25, "binpack": 0.75}}
	oldBuf, err := EncodeCanonical(old)
	if err != nil {
		t.Fatal(err)
	}
	newBuf, err := EncodeCanonical(meta)
	if err != nil {
		t.Fatal(err)
	}
	// The struct's fields may come in another order (generated code writes
	// them as declared); the scores are the map's bytes exactly.
	var oldFields, newFields any
	mustDecode(t, oldBuf, &oldFields)
	mustDecode(t, newBuf, &newFields)
	if !reflect.DeepEqual(oldFields, newFields) || len(oldBuf) != len(newBuf) {
		t.Fatalf("msgpack differs from the map form:\n new %x\n old %x", newBuf, oldBuf)
	}
	if o, n := mustEncode(t, EncodeCanonical, old.Scores), mustEncode(t, EncodeCanonical, meta.Scores); !bytes.Equal(o, n) {
		t.Fatalf("scores differ from the map form:\n new %x\n old %x", n, o)
	}
	var back NodeScoreMeta
	if err := Decode(oldBuf, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, meta) {
		t.Fatalf("decoded %+v, want %+v", back, meta)
	}
	if v, _ := back.Scores.Get("job-anti-affinity"); back.Scores[0].Name != "binpack" || v != -0.25 {
		t.Fatalf("decoded scores %+v: want sorted by name with job-anti-affinity -0.25", back.Scores)
	}

	j, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"NodeID":"n1","Scores":{"binpack":0.75,"job-anti-affinity":-0.25},"NormScore":0.5}`; string(j) != want {
		t.Fatalf("JSON %s, want %s", j, want)
	}
	var fromJSON NodeScoreMeta
	if err := json.Unmarshal(j, &fromJSON); err != nil || !reflect.DeepEqual(&fromJSON, meta) {
		t.Fatalf("JSON decoded %+v (%v), want %+v", fromJSON, err, meta)
	}

	var none NodeScoreMeta
	buf, _ := Encode(&NodeScoreMeta{NodeID: "n2"})
	if err := Decode(buf, &none); err != nil || none.Scores != nil {
		t.Fatalf("nil scores decoded as %#v (%v)", none.Scores, err)
	}
}

// The scores' own msgpack writer gives the bytes the map's canonical
// encoding gives, for names of every msgpack string size, and the reader takes
// any encoding of such a map: keys in any order, numbers of any type.
func TestNodeScoresMsgpackMatchesTheMap(t *testing.T) {
	long := func(n int) string { return strings.Repeat("s", n) }
	for _, m := range []map[string]float64{
		{},
		{"binpack": 0.5},
		{"binpack": -1.5, "job-anti-affinity": 0, "node-affinity": 1e300, long(31): 2, long(32): 3, long(255): 4, long(256): 5, long(70000): 6},
	} {
		s := NodeScoresOf(m)
		mine, theirs := mustEncode(t, EncodeCanonical, s), mustEncode(t, EncodeCanonical, m)
		if !bytes.Equal(mine, theirs) {
			t.Errorf("scores of %d names encode as %x, the map as %x", len(m), mine, theirs)
		}
		var back NodeScores
		mustDecode(t, mustEncode(t, Encode, m), &back) // keys in Go's map order
		if !reflect.DeepEqual(back, s) {
			t.Errorf("decoded %v, want %v", back, s)
		}
	}

	ints := map[string]any{"a": 1, "b": -3, "c": 300, "d": -70000, "e": uint64(1 << 40), "f": float32(0.5)}
	var back NodeScores
	mustDecode(t, mustEncode(t, Encode, ints), &back)
	want := NodeScores{{"a", 1}, {"b", -3}, {"c", 300}, {"d", -70000}, {"e", 1 << 40}, {"f", 0.5}}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("decoded %v, want %v", back, want)
	}
}

// A broken map of scores is an error of the decoding, never a panic.
func TestNodeScoresMsgpackRejectsBrokenInput(t *testing.T) {
	good := NodeScoresOf(map[string]float64{"binpack": 0.5, "job-anti-affinity": -1}).AppendMsgpack(nil)
	for i := range len(good) {
		if _, err := DecodeMsgpackScores(good[:i]); err == nil {
			t.Errorf("the first %d of %d bytes decoded without error", i, len(good))
		}
	}
	for _, b := range [][]byte{{0x91, 0x01}, {0x81, 0x01, 0x01}, {0x81, 0xa1, 'x', 0xa1, 'y'}, append(good, 0x00)} {
		if _, err := DecodeMsgpackScores(b); err == nil {
			t.Errorf("%x decoded without error", b)
		}
	}
	buf := mustEncode(t, Encode, map[string]any{"Scores": []int{1}})
	var meta NodeScoreMeta
	if err := Decode(buf, &meta); err == nil || !strings.Contains(err.Error(), "node scores") {
		t.Errorf("a list for scores: error %v, want one naming node scores", err)
	}
}
