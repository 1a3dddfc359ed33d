package scheduler

import (
	"maps"
	"slices"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestReschedulePenaltySteersAReplacementOffTheNodeItFailedOn(t *testing.T) {
	job := mockJob().CPU(1000).Mem(1000).Build()
	// Two identical nodes: without the penalty the tie goes to the first seen.
	nodes := []*structs.Node{mockNode("a").Build(), mockNode("b").Build()}
	for _, avoid := range []string{"node-a", "node-b"} {
		s := stackOver(t, job, nodes, nil)
		s.limit = 2 // look at both
		s.avoid = map[string]bool{avoid: true}
		nu, m := s.selectNode(job.TaskGroups[0])
		if nu == nil {
			t.Fatal("no node selected")
		}
		if nu.id == avoid {
			t.Errorf("replacement placed on %s, the node its predecessor failed on", avoid)
		}
		var penalised bool
		for _, sm := range m.ScoreMetaData {
			if v, ok := sm.Scores.Get(scoreReschedulePenalty); ok {
				penalised = sm.NodeID == avoid && v == -1
			}
		}
		if !penalised {
			t.Errorf("avoid %s: score metadata does not show the penalty on it: %+v", avoid, m.ScoreMetaData)
		}
	}
}

func TestPenaltyNodesOnlyForFailedPredecessors(t *testing.T) {
	for _, tc := range []struct {
		prev *structs.Allocation
		want []string
	}{
		{nil, nil},
		{&structs.Allocation{NodeID: "n1", ClientStatus: structs.AllocClientStatusFailed}, []string{"n1"}},
		{&structs.Allocation{NodeID: "n1", ClientStatus: structs.AllocClientStatusFailed, RescheduleTracker: &structs.RescheduleTracker{
			Events: []*structs.RescheduleEvent{{PrevNodeID: "n0"}, {PrevNodeID: "n2"}}}}, []string{"n0", "n1", "n2"}},
		{&structs.Allocation{NodeID: "n1", ClientStatus: structs.AllocClientStatusLost}, nil},
		{&structs.Allocation{NodeID: "n1", ClientStatus: structs.AllocClientStatusRunning}, nil},
	} {
		got := slices.Sorted(maps.Keys(penaltyNodes(tc.prev)))
		if !slices.Equal(got, tc.want) {
			t.Errorf("penaltyNodes(%+v) = %q, want %q", tc.prev, got, tc.want)
		}
	}
}
