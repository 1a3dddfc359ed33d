package structs

import (
	"reflect"
	"testing"
)

func TestSummarizeJob(t *testing.T) {
	job := &Job{ID: "j", Namespace: "default", CreateIndex: 3, ModifyIndex: 4,
		TaskGroups: []*TaskGroup{{Name: "web"}, {Name: "idle"}}}
	allocs := []*Allocation{
		{TaskGroup: "web", ClientStatus: AllocClientStatusRunning, ModifyIndex: 10},
		{TaskGroup: "web", ClientStatus: AllocClientStatusRunning, ModifyIndex: 11},
		{TaskGroup: "web", ClientStatus: AllocClientStatusPending, ModifyIndex: 12},
		{TaskGroup: "web", ClientStatus: AllocClientStatusFailed, ModifyIndex: 5},
		{TaskGroup: "web", ClientStatus: AllocClientStatusLost, ModifyIndex: 5},
		{TaskGroup: "old", ClientStatus: AllocClientStatusComplete, ModifyIndex: 2},
	}
	evals := []*Evaluation{
		{ModifyIndex: 13, QueuedAllocations: map[string]int{"web": 1}},
		{ModifyIndex: 9, QueuedAllocations: map[string]int{"web": 4}},
		{ModifyIndex: 20}, // counted nothing: ignored
	}
	got := SummarizeJob(job, allocs, evals)
	want := &JobSummary{JobID: "j", Namespace: "default", CreateIndex: 3, ModifyIndex: 13, Summary: map[string]TaskGroupSummary{
		"web":  {Queued: 1, Running: 2, Starting: 1, Failed: 1, Lost: 1},
		"idle": {},
		"old":  {Complete: 1},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary:\n got %+v\nwant %+v", got, want)
	}
}
