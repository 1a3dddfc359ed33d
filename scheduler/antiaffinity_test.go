package scheduler

import (
	"testing"
)

func TestJobAntiAffinityPenalisesCollisions(t *testing.T) {
	job := mockJob().Count(4).Build()
	j := newJobAntiAffinity(job.TaskGroups[0])
	nu := &nodeUsage{}
	if _, applies := j.score(nu); applies {
		t.Fatal("a node without the group's allocations must not be scored")
	}
	nu.addJobAlloc("other", 3)
	if _, applies := j.score(nu); applies {
		t.Fatal("another group's allocations are not collisions")
	}
	nu.addJobAlloc("web", 1)
	if s, applies := j.score(nu); !applies || s != -0.5 {
		t.Fatalf("one collision of count 4: %v %v, want -0.5", s, applies)
	}
	nu.addJobAlloc("web", 9)
	if s, _ := j.score(nu); s != -1 {
		t.Fatalf("many collisions: %v, want the floor -1", s)
	}
}

func TestAntiAffinitySpreadsAGroupOverIdenticalNodes(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		h := newHarness(t)
		h.seed = seed
		h.upsertNodes(mockNodes(3, "n", nil)...)
		h.run(mockJob().Count(3).Build())
		if got := h.perNode("job"); len(got) != 3 {
			t.Fatalf("seed %d: allocations per node %v, want one on each of 3", seed, got)
		}
		// Bin-packing alone would stack them: the first node to get one is the fullest.
		for _, a := range planAllocs(h.lastPlan().NodeAllocation) {
			for _, sm := range a.Metrics.ScoreMetaData {
				if v, ok := sm.Scores.Get(scoreJobAntiAffinity); ok && v >= 0 {
					t.Errorf("seed %d: anti-affinity score %v must be negative", seed, v)
				}
			}
		}
	}
}

func TestAntiAffinityCountsAllocationsAlreadyRunning(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(4, "n", nil)...)
	job := h.run(mockJob().Count(2).Build())
	up := job.Copy()
	up.TaskGroups[0].Count = 4
	h.run(up)
	if got := h.perNode("job"); len(got) != 4 {
		t.Fatalf("allocations per node %v, want one on each of 4", got)
	}
}
