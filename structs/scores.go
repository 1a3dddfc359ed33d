package structs

import (
	"encoding/json"
	"slices"
	"strings"

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

// CodecEncodeSelf encodes the scores as a msgpack map.
func (s NodeScores) CodecEncodeSelf(e *codec.Encoder) { e.MustEncode(s.Map()) }

// CodecDecodeSelf decodes a msgpack map of scores.
func (s *NodeScores) CodecDecodeSelf(d *codec.Decoder) {
	var m map[string]float64
	d.MustDecode(&m)
	*s = NodeScoresOf(m)
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
