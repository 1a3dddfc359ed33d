package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

func TestSampleLimit(t *testing.T) {
	for _, tc := range []struct {
		typ   structs.JobType
		nodes int
		want  int
	}{
		{structs.JobTypeBatch, 5000, 2},
		{structs.JobTypeService, 0, 2},
		{structs.JobTypeService, 1, 2},
		{structs.JobTypeService, 4, 2},
		{structs.JobTypeService, 5, 3},
		{structs.JobTypeService, 1024, 10},
		{structs.JobTypeService, 1025, 11},
		{structs.JobTypeService, 5000, 13},
	} {
		src := &nodeSource{nodes: make([]*nodeUsage, tc.nodes)}
		if got := newStack(tc.typ, mockJob().Build(), src, nil).limit; got != tc.want {
			t.Errorf("%s on %d nodes: limit %d, want %d", tc.typ, tc.nodes, got, tc.want)
		}
	}
}

func TestInsertTopKeepsTheBestFirstAndTiesInArrivalOrder(t *testing.T) {
	var top []scoredNode
	for i, score := range []float64{0.2, 0.5, 0.5, 0.1, 0.9, 0.3, 0.5, 0.0} {
		top = insertTop(top, scoredNode{nu: &nodeUsage{id: fmt.Sprint(i)}, final: score})
	}
	var got []string
	for _, sn := range top {
		got = append(got, fmt.Sprintf("%s:%.1f", sn.nu.id, sn.final))
	}
	want := []string{"4:0.9", "1:0.5", "2:0.5", "6:0.5", "5:0.3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("top %v, want %v", got, want)
	}
}

// stackOver builds a stack over nodes (all in a fresh store) for job.
func stackOver(t *testing.T, job *structs.Job, nodes []*structs.Node, jobAllocs []*structs.Allocation) *stack {
	t.Helper()
	store := state.NewStateStore()
	for i, n := range nodes {
		n = n.Copy()
		n.ComputeClass()
		must(t, store.UpsertNode(uint64(i+1), n))
	}
	snap := store.Snapshot()
	usage := newPlanUsage(snap, jobAllocs)
	src := newNodeSource(snap, job.Datacenters, job.NodePool, rand.New(rand.NewPCG(3, 3)), usage)
	return newStack(job.Type, job, src, usage)
}

func TestSelectNodePicksTheBestOfTheSampleAndExplainsIt(t *testing.T) {
	job := mockJob().CPU(1000).Mem(1000).Build()
	// Four nodes: one too small, one with a sick driver, two that fit, of
	// which the smaller packs tighter.
	nodes := []*structs.Node{
		mockNode("small").Mem(512).Build(),
		mockNode("sick").NoDriver("raw_exec").Build(),
		mockNode("big").CPU(8000).Mem(16384).Build(),
		mockNode("snug").CPU(2000).Mem(2048).Build(),
	}
	s := stackOver(t, job, nodes, nil)
	s.limit = 4 // look at everything
	nu, m := s.selectNode(job.TaskGroups[0])
	if nu == nil || nu.node.Name != "snug" {
		t.Fatalf("picked %v, want snug; metric %+v", nu, m)
	}
	if m.NodesEvaluated != 4 || m.NodesFiltered != 1 || m.ConstraintFiltered[filterMissingDrivers] != 1 ||
		m.NodesExhausted != 1 || m.DimensionExhausted["memory"] != 1 || m.NodesAvailable["dc1"] != 4 {
		t.Errorf("metric %+v", m)
	}
	if len(m.ScoreMetaData) != 2 || m.ScoreMetaData[0].NodeID != "node-snug" || m.ScoreMetaData[1].NodeID != "node-big" ||
		m.ScoreMetaData[0].NormScore <= m.ScoreMetaData[1].NormScore || func() float64 { v, _ := m.ScoreMetaData[0].Scores.Get(scoreBinPack); return v }() != m.ScoreMetaData[0].NormScore {
		t.Errorf("score meta: %+v %+v", m.ScoreMetaData[0], m.ScoreMetaData[1])
	}
}

func TestSelectNodeStopsAtTheLimit(t *testing.T) {
	job := mockJob().Build()
	s := stackOver(t, job, mockNodes(40, "n", nil), nil)
	s.limit = 3
	_, m := s.selectNode(job.TaskGroups[0])
	if m.NodesEvaluated != 3 || len(m.ScoreMetaData) != 3 {
		t.Fatalf("evaluated %d, scored %d; want 3 and 3", m.NodesEvaluated, len(m.ScoreMetaData))
	}
	// The next placement starts where this one stopped.
	first := s.source.next
	s.selectNode(job.TaskGroups[0])
	if s.source.next != first+3 {
		t.Fatalf("source moved from %d to %d, want +3", first, s.source.next)
	}
}

func TestSelectNodeLooksPastPenalisedNodes(t *testing.T) {
	job := mockJob().Count(2).Build()
	nodes := mockNodes(4, "n", nil)
	// n1..n3 already run the group; only n4 does not.
	var allocs []*structs.Allocation
	for i, n := range nodes[:3] {
		allocs = append(allocs, &structs.Allocation{ID: fmt.Sprint(i), NodeID: n.ID, TaskGroup: "web",
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning})
	}
	for seed := uint64(0); seed < 10; seed++ {
		s := stackOver(t, job, nodes, allocs)
		s.source.next = int(seed % 4)
		s.limit = 1
		nu, m := s.selectNode(job.TaskGroups[0])
		if nu == nil || nu.node.Name != "n4" {
			t.Fatalf("start %d: picked %v, want n4 (metric %+v)", seed%4, nu, m)
		}
	}
}

func TestSelectNodeWithNoCandidates(t *testing.T) {
	job := mockJob().DCs("nowhere").Build()
	s := stackOver(t, job, mockNodes(3, "n", nil), nil)
	nu, m := s.selectNode(job.TaskGroups[0])
	if nu != nil || m.NodesEvaluated != 0 || len(m.NodesAvailable) != 0 {
		t.Fatalf("picked %v, metric %+v", nu, m)
	}
	if got := FailureSummary("web", 1, 1, m); got != "could not place 1 of 1 allocation of group web: no ready nodes in the job's datacenters" {
		t.Fatalf("summary %q", got)
	}
}
