package structs

import (
	"encoding/json"
	"reflect"
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
	if string(oldBuf) != string(newBuf) {
		t.Fatalf("msgpack differs from the map form:\n new %x\n old %x", newBuf, oldBuf)
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
