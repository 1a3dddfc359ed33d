package state

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/orch-io/orch/structs"
)

// The allocations of one entry, decoded from Raft with a copy of every
// string, share their node's, job's and each other's strings once stored.
func TestPlacedAllocationsShareTheirStrings(t *testing.T) {
	s := NewStateStore()
	node := &structs.Node{ID: structs.GenerateUUID(), Name: "node-1", Status: structs.NodeStatusReady}
	must(t, s.UpsertNode(1, node))
	job := testJob("web")
	must(t, s.UpsertJob(2, job))

	// Each allocation carries its own copies, as a decoded entry does.
	evalID := structs.GenerateUUID()
	var placed []*structs.Allocation
	for range 2 {
		a := testAlloc(job, strings.Clone(node.ID))
		a.Job, a.Namespace = job, "default"
		a.JobID, a.NodeName, a.EvalID = strings.Clone("web"), strings.Clone("node-1"), strings.Clone(evalID)
		a.Metrics = &structs.AllocMetric{ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: strings.Clone(node.ID)}},
			NodesAvailable: map[string]int{"dc1": 1}}
		a.AllocatedResources = &structs.AllocatedResources{Tasks: map[string]*structs.Resources{"t": {CPU: 100, MemoryMB: 64}}}
		placed = append(placed, a)
	}
	must(t, s.UpsertPlanResults(3, job, placed))

	same := func(what, a, b string) {
		t.Helper()
		if a != b || unsafe.StringData(a) != unsafe.StringData(b) {
			t.Errorf("%s: %q and %q are separate copies", what, a, b)
		}
	}
	stored := s.Snapshot()
	first, second := stored.AllocByID(placed[0].ID), stored.AllocByID(placed[1].ID)
	stNode, stJob := stored.NodeByID(node.ID), stored.JobByID("default", "web")
	same("NodeID", first.NodeID, stNode.ID)
	same("NodeName", first.NodeName, stNode.Name)
	same("JobID", first.JobID, stJob.ID)
	same("score NodeID", first.Metrics.ScoreMetaData[0].NodeID, stNode.ID)
	same("EvalID", first.EvalID, second.EvalID)
	if first.AllocatedResources != second.AllocatedResources {
		t.Error("equal AllocatedResources are separate copies")
	}
	if reflect.ValueOf(first.Metrics.NodesAvailable).Pointer() != reflect.ValueOf(second.Metrics.NodesAvailable).Pointer() {
		t.Error("equal NodesAvailable maps are separate copies")
	}

	// A client's report shares its task events' strings.
	report := func(a *structs.Allocation) *structs.Allocation {
		return &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning, TaskStates: map[string]*structs.TaskState{
			"t": {State: structs.TaskStateName(strings.Clone("running")), Events: []*structs.TaskEvent{
				{Type: strings.Clone(structs.TaskStarted), DisplayMessage: strings.Clone("Task started by client")}}}}}
	}
	must(t, s.UpdateAllocsFromClient(4, []*structs.Allocation{report(first), report(second)}))
	stored = s.Snapshot()
	e1 := stored.AllocByID(first.ID).TaskStates["t"].Events[0]
	e2 := stored.AllocByID(second.ID).TaskStates["t"].Events[0]
	same("event type", e1.Type, e2.Type)
	same("event message", e1.DisplayMessage, e2.DisplayMessage)
}
