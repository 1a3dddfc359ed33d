package scheduler

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

// planAnnotated processes a register evaluation of job with AnnotatePlan,
// committing nothing, and returns the annotations of the plan submitted.
func planAnnotated(t *testing.T, h *harness, job *structs.Job) map[string]structs.DesiredUpdates {
	t.Helper()
	stored := h.upsertJob(job)
	eval := h.newEval(stored, structs.EvalTriggerJobRegister)
	eval.AnnotatePlan = true
	h.noCommit = true
	defer func() { h.noCommit = false }()
	before := len(h.plans)
	h.process(stored.Type, eval)
	if len(h.plans) != before+1 {
		t.Fatalf("an annotated evaluation submitted %d plans, want 1 (even when nothing changes)", len(h.plans)-before)
	}
	plan := h.lastPlan()
	if plan.Annotations == nil {
		t.Fatal("plan of an AnnotatePlan evaluation has no annotations")
	}
	out := map[string]structs.DesiredUpdates{}
	for g, u := range plan.Annotations.DesiredTGUpdates {
		out[g] = *u
	}
	return out
}

func TestAnnotatePlanCountsDecisionsPerGroup(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(4, "n", nil)...)
	job := h.run(mockJob().Count(3).Group("api").Count(2).Build())
	if h.lastPlan().Annotations != nil {
		t.Fatal("a plan without AnnotatePlan carries annotations")
	}

	tests := []struct {
		name   string
		change func(j *structs.Job)
		want   map[string]structs.DesiredUpdates
	}{
		{"nothing changes", func(*structs.Job) {},
			map[string]structs.DesiredUpdates{"web": {Ignore: 3}, "api": {Ignore: 2}}},
		{"count up and down", func(j *structs.Job) { j.TaskGroups[0].Count = 5; j.TaskGroups[1].Count = 1 },
			map[string]structs.DesiredUpdates{"web": {InPlaceUpdate: 3, Place: 2}, "api": {InPlaceUpdate: 1, Stop: 1}}},
		{"task changes are destructive", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Env = map[string]string{"A": "1"} },
			map[string]structs.DesiredUpdates{"web": {DestructiveUpdate: 3}, "api": {InPlaceUpdate: 2}}},
		{"group removed", func(j *structs.Job) { j.TaskGroups = j.TaskGroups[:1] },
			map[string]structs.DesiredUpdates{"web": {InPlaceUpdate: 3}, "api": {Stop: 2}}},
		{"job stopped", func(j *structs.Job) { j.Stop = true },
			map[string]structs.DesiredUpdates{"web": {Stop: 3}, "api": {Stop: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := job.Copy()
			tt.change(next)
			got := planAnnotated(t, h, next)
			// Groups with nothing to count may be absent.
			for g, u := range got {
				if u == (structs.DesiredUpdates{}) {
					delete(got, g)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("annotations %+v, want %+v", got, tt.want)
			}
			for g, w := range tt.want {
				if got[g] != w {
					t.Errorf("group %s: %+v, want %+v", g, got[g], w)
				}
			}
			h.upsertJob(job) // back to the running version for the next case
		})
	}
}
