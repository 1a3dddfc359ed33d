package api_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// throughJSON encodes v and decodes it into a new T, as the wire would.
func throughJSON[T any](t *testing.T, v any) *T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return out
}

// A full job, node, allocation and evaluation survive structs → wire → JSON
// → wire → structs: every field orch has is on the wire.
func TestWireRoundTrip(t *testing.T) {
	job := structstest.Job("web")
	job.Canonicalize()
	job.Affinities = []*structs.Affinity{{LTarget: "${node.datacenter}", RTarget: "dc1", Operand: "=", Weight: -20}}
	job.Spreads = []*structs.Spread{{Attribute: "${meta.rack}", Weight: 30, SpreadTarget: []*structs.SpreadTarget{{Value: "r1", Percent: 60}}}}
	job.Meta = map[string]string{"team": "a"}
	job.TaskGroups[0].Networks = []*structs.NetworkResource{{Mode: "host",
		ReservedPorts: []structs.Port{{Label: "http", Value: 8080}}, DynamicPorts: []structs.Port{{Label: "admin", To: 9000}}}}
	job.TaskGroups[0].Tasks[0].Env = map[string]string{"A": "1"}
	job.Version, job.SubmitTime, job.CreateIndex, job.ModifyIndex, job.JobModifyIndex = 3, 1_700_000_000_123_456_789, 4, 9, 8
	job.Status, job.Stop = structs.JobStatusRunning, true
	if got := api.JobToStructs(throughJSON[api.Job](t, api.JobFromStructs(job))); !reflect.DeepEqual(got, job) {
		t.Errorf("job round trip:\n got %+v\nwant %+v", got, job)
	}

	node := structstest.Node("n1", "node-1")
	node.SecretID, node.ComputedClass = "", "" // servers only
	node.ReservedResources = &structs.NodeResources{CPU: 100, MemoryMB: 256, DiskMB: 10, ReservedHostPorts: "22"}
	node.Drivers = map[string]*structs.DriverInfo{"raw_exec": {Detected: true, Healthy: true, UpdateTime: 1_700_000_000_000_000_001}}
	node.NodePool = "default"
	if got := api.NodeToStructs(throughJSON[api.Node](t, api.NodeFromStructs(node))); !reflect.DeepEqual(got, node) {
		t.Errorf("node round trip:\n got %+v\nwant %+v", got, node)
	}

	eval := structstest.Eval("e1", job)
	eval.WaitUntil = time.Unix(1_700_000_000, 5).UTC()
	eval.QueuedAllocations = map[string]int{"web": 2}
	eval.FailedTGAllocs = map[string]*structs.AllocMetric{"web": {NodesEvaluated: 3, DimensionExhausted: map[string]int{"memory": 3}, AllocationTime: 1500}}
	if got := api.EvalToStructs(throughJSON[api.Evaluation](t, api.EvalFromStructs(eval))); !reflect.DeepEqual(got, eval) {
		t.Errorf("eval round trip:\n got %+v\nwant %+v", got, eval)
	}

	alloc := structstest.Alloc("a1", "e1", job, node, "web", 0)
	alloc.AllocatedResources.Shared.Ports = structs.AllocatedPorts{{Label: "http", Value: 8080, HostIP: "127.0.0.1"}}
	alloc.TaskStates = map[string]*structs.TaskState{"server": {State: structs.TaskStateRunning, Restarts: 1,
		StartedAt: 1_700_000_000_000_000_002, LastRestart: 1_700_000_000_000_000_003,
		Events: []*structs.TaskEvent{{Type: structs.TaskStarted, Time: 1_700_000_000_000_000_004, KillTimeout: int64(5 * time.Second)}}}}
	alloc.CreateTime, alloc.ModifyTime = 1_700_000_000_000_000_005, 1_700_000_000_000_000_006
	if got := api.AllocToStructs(throughJSON[api.Allocation](t, api.AllocFromStructs(alloc))); !reflect.DeepEqual(got, alloc) {
		t.Errorf("alloc round trip:\n got %+v\nwant %+v", got, alloc)
	}
}

// Times are RFC3339 text and durations integer nanoseconds, where Nomad has them.
func TestWireTimeShapes(t *testing.T) {
	ts := map[string]*structs.TaskState{"t": {State: structs.TaskStateRunning, StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()}}
	a := &structs.Allocation{ID: "a", TaskStates: ts}
	b, _ := json.Marshal(api.AllocFromStructs(a))
	if !strings.Contains(string(b), `"StartedAt":"2026-01-02T03:04:05Z"`) || !strings.Contains(string(b), `"FinishedAt":"0001-01-01T00:00:00Z"`) {
		t.Errorf("task state times are not RFC3339: %s", b)
	}
	job := structstest.Job("j")
	job.Canonicalize()
	b, _ = json.Marshal(api.JobFromStructs(job))
	if !strings.Contains(string(b), `"KillTimeout":5000000000`) {
		t.Errorf("kill timeout is not in nanoseconds: %s", b)
	}
}

// An API body without a group's Count or an affinity's Weight gets Nomad's
// defaults; an explicit 0 count stays 0.
func TestJobToStructsDefaults(t *testing.T) {
	var w api.Job
	if err := json.Unmarshal([]byte(`{"ID": "j", "Type": "batch", "TaskGroups": [
		{"Name": "a", "RestartPolicy": {"Attempts": 7}, "Affinities": [{"LTarget": "x", "RTarget": "y", "Operand": "="}], "Tasks": [{"Name": "t"}]},
		{"Name": "b", "Count": 0}]}`), &w); err != nil {
		t.Fatal(err)
	}
	j := api.JobToStructs(&w)
	if j.TaskGroups[0].Count != 1 || j.TaskGroups[1].Count != 0 {
		t.Errorf("counts: %d %d, want 1 (absent) and 0 (explicit)", j.TaskGroups[0].Count, j.TaskGroups[1].Count)
	}
	if w := j.TaskGroups[0].Affinities[0].Weight; w != structs.DefaultAffinityWeight {
		t.Errorf("affinity weight %d, want the default %d", w, structs.DefaultAffinityWeight)
	}
	want := structs.DefaultRestartPolicy(structs.JobTypeBatch)
	want.Attempts = 7
	if rp := j.TaskGroups[0].RestartPolicy; !reflect.DeepEqual(rp, want) {
		t.Errorf("partial restart policy: %+v, want the batch defaults with 7 attempts %+v", rp, want)
	}
}

// A body that sets a field orch does not act on is refused, naming every such
// field; null and zero values (what Nomad's client sends for unset fields)
// pass.
func TestCheckSupported(t *testing.T) {
	var body api.JobRegisterRequest
	err := json.Unmarshal([]byte(`{"Job": {"ID": "j", "Periodic": null, "Dispatched": false, "Payload": "", "Multiregion": {},
		"Update": {"MaxParallel": 2}, "TaskGroups": [{"Name": "g", "Volumes": {}, "Tasks": [{"Name": "t", "Leader": false,
		"Vault": {"Policies": ["p"]}, "Resources": {"CPU": 100, "Cores": 2}}]}]}, "PreserveCounts": true}`), &body)
	if err != nil {
		t.Fatal(err)
	}
	got := api.UnsupportedFields("", &body)
	want := []string{"Job.TaskGroups[0].Tasks[0].Resources.Cores", "Job.TaskGroups[0].Tasks[0].Vault", "Job.Update", "PreserveCounts"} // in field order
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unsupported fields: %q, want %q", got, want)
	}
	if err := api.CheckSupported("", &body); err == nil || !strings.Contains(err.Error(), "Job.TaskGroups[0].Tasks[0].Vault") {
		t.Errorf("CheckSupported: %v", err)
	}
	var clean api.JobRegisterRequest
	if err := json.Unmarshal([]byte(`{"Job": {"ID": "j", "Update": null, "Stable": false, "TaskGroups": [{"Tasks": [{"Kind": ""}]}]}}`), &clean); err != nil {
		t.Fatal(err)
	}
	if err := api.CheckSupported("", &clean); err != nil {
		t.Errorf("null and zero fields refused: %v", err)
	}
}
