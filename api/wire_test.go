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
	job.TaskGroups[0].Services = []*structs.Service{{Name: "${NOMAD_JOB_NAME}-web", TaskName: "server", PortLabel: "http",
		AddressMode: "host", Address: "10.0.0.1", Tags: []string{"v1"}, CanaryTags: []string{"canary"}, Provider: "nomad",
		Meta: map[string]string{"m": "1"}, Checks: []*structs.ServiceCheck{{
			Name: "h", Type: "http", Command: "x", Args: []string{"-a"}, TaskName: "server", Path: "/health", Method: "HEAD",
			Protocol: "https", Header: map[string][]string{"X": {"1", "2"}}, PortLabel: "admin", AddressMode: "host",
			Interval: 10 * time.Second, Timeout: 2 * time.Second, InitialStatus: "warning", SuccessBeforePassing: 2,
			FailuresBeforeCritical: 3, OnUpdate: "ignore_warnings", GRPCService: "svc", GRPCUseTLS: true, TLSSkipVerify: true,
			CheckRestart: &structs.CheckRestart{Limit: 3, Grace: 30 * time.Second, IgnoreWarnings: true},
		}}}}
	job.TaskGroups[0].Tasks[0].Services = []*structs.Service{{Name: "task-svc", TaskName: "server", Provider: "nomad", AddressMode: "auto"}}
	job.TaskGroups[0].Tasks[0].Templates = []*structs.Template{{EmbeddedTmpl: "{{ env \"A\" }}", DestPath: "local/a", ChangeMode: "signal",
		ChangeSignal: "SIGHUP", Splay: time.Second, Perms: "0600", LeftDelim: "[[", RightDelim: "]]", Envvars: true, ErrMissingKey: true},
		{SourcePath: "local/in.tpl", DestPath: "local/out", ChangeMode: "noop", Perms: "0644", LeftDelim: "{{", RightDelim: "}}"}}
	job.TaskGroups[0].Tasks[0].LogConfig = &structs.LogConfig{MaxFiles: 3, MaxFileSizeMB: 7, Disabled: true}
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
	node.DrainStrategy = &structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: time.Hour, IgnoreSystemJobs: true},
		ForceDeadline: time.Unix(1_700_003_600, 0).UTC(), StartedAt: time.Unix(1_700_000_000, 0).UTC()}
	node.LastDrain = &structs.DrainMetadata{StartedAt: time.Unix(1_700_000_000, 0).UTC(), UpdatedAt: time.Unix(1_700_000_001, 0).UTC(),
		Status: structs.DrainStatusDraining, Meta: map[string]string{"message": "kernel upgrade"}}
	node.Events = []*structs.NodeEvent{{Message: structs.NodeEventDrainStarted, Subsystem: structs.NodeEventSubsystemDrain,
		Details: map[string]string{"deadline": "1h0m0s"}, Timestamp: time.Unix(1_700_000_000, 0).UTC(), CreateIndex: 7}}
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
	healthy := true
	alloc.DesiredTransition = structs.DesiredTransition{Migrate: true}
	alloc.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: time.Unix(1_700_000_000, 0).UTC(), ModifyIndex: 3}
	alloc.PreviousAllocation, alloc.NextAllocation, alloc.FollowupEvalID = "a0", "a2", "e9"
	alloc.RescheduleTracker = &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{
		{RescheduleTime: 1_700_000_000_000_000_007, PrevAllocID: "a0", PrevNodeID: "n0", Delay: 30 * time.Second}}}
	if got := api.AllocToStructs(throughJSON[api.Allocation](t, api.AllocFromStructs(alloc))); !reflect.DeepEqual(got, alloc) {
		t.Errorf("alloc round trip:\n got %+v\nwant %+v", got, alloc)
	}
}

// A group's reschedule and migrate blocks start from the job's, over the job
// type's defaults (Nomad's merge, as in job files); setting attempts bounds
// a service job's unlimited default; a system job's block is kept for
// validation to refuse; no block at all is left to Canonicalize.
func TestWireRescheduleMigrateMerge(t *testing.T) {
	ptr := func(d time.Duration) *time.Duration { return &d }
	three, two := 3, 2
	w := &api.Job{ID: new(string), Type: new(string),
		Reschedule: &api.ReschedulePolicy{MaxDelay: ptr(2 * time.Hour)},
		Migrate:    &api.MigrateStrategy{MaxParallel: &two},
		TaskGroups: []*api.TaskGroup{
			{ReschedulePolicy: &api.ReschedulePolicy{Attempts: &three, Interval: ptr(time.Hour)}},
			{},
		}}
	*w.Type = string(structs.JobTypeService)
	job := api.JobToStructs(w)
	want := &structs.ReschedulePolicy{Attempts: 3, Interval: time.Hour, Delay: 30 * time.Second,
		DelayFunction: structs.DelayExponential, MaxDelay: 2 * time.Hour}
	if got := job.TaskGroups[0].ReschedulePolicy; !reflect.DeepEqual(got, want) {
		t.Errorf("group 0 reschedule: %+v, want %+v", got, want)
	}
	want = &structs.ReschedulePolicy{Delay: 30 * time.Second, DelayFunction: structs.DelayExponential, MaxDelay: 2 * time.Hour, Unlimited: true}
	if got := job.TaskGroups[1].ReschedulePolicy; !reflect.DeepEqual(got, want) {
		t.Errorf("group 1 reschedule (the job's): %+v, want %+v", got, want)
	}
	wantM := structs.DefaultMigrateStrategy(structs.JobTypeService)
	wantM.MaxParallel = 2
	for i, tg := range job.TaskGroups {
		if !reflect.DeepEqual(tg.Migrate, wantM) {
			t.Errorf("group %d migrate: %+v, want %+v", i, tg.Migrate, wantM)
		}
	}

	*w.Type = string(structs.JobTypeSystem)
	w.Migrate, w.TaskGroups[0].ReschedulePolicy = nil, nil
	job = api.JobToStructs(w)
	if p := job.TaskGroups[0].ReschedulePolicy; p == nil || p.MaxDelay != 2*time.Hour {
		t.Errorf("a system job's reschedule block: %+v, want it kept for validation", p)
	}
	job.Canonicalize()
	if err := job.Validate(); err == nil || !strings.Contains(err.Error(), "reschedule") {
		t.Errorf("a system job with a reschedule block validates: %v", err)
	}
	w.Reschedule = nil
	if job := api.JobToStructs(w); job.TaskGroups[0].ReschedulePolicy != nil || job.TaskGroups[0].Migrate != nil {
		t.Errorf("no block: %+v", job.TaskGroups[0])
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
		"Vault": {"Policies": ["p"]}, "Resources": {"CPU": 100, "DiskMB": 2}}]}]}, "PreserveCounts": true}`), &body)
	if err != nil {
		t.Fatal(err)
	}
	got := api.UnsupportedFields("", &body)
	want := []string{"Job.TaskGroups[0].Tasks[0].Resources.DiskMB", "Job.TaskGroups[0].Tasks[0].Vault", "PreserveCounts"} // in field order
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

// A service's check_restart, on_update and task are the defaults of its
// checks' (Nomad's service-level settings); an absent template splay is 5s;
// a Connect block is refused by name.
func TestServicesToStructsDefaults(t *testing.T) {
	var body api.JobRegisterRequest
	if err := json.Unmarshal([]byte(`{"Job": {"ID": "j", "TaskGroups": [{"Name": "g",
		"Services": [{"Name": "s", "TaskName": "t", "OnUpdate": "ignore", "CheckRestart": {"Limit": 2, "Grace": 1000000000}, "CanaryMeta": {"a": "b"},
			"Checks": [{"Name": "a", "Type": "tcp"}, {"Name": "b", "Type": "tcp", "OnUpdate": "require_healthy", "TaskName": "u",
				"CheckRestart": {"Limit": 5}}]}],
		"Tasks": [{"Name": "t", "Templates": [{"EmbeddedTmpl": "x", "DestPath": "local/x", "Wait": {"Min": 2000000000, "Max": null}}]}]}]}}`), &body); err != nil {
		t.Fatal(err)
	}
	if err := api.CheckSupported("", &body); err != nil {
		t.Fatalf("a plain service refused: %v", err)
	}
	j := api.JobToStructs(body.Job)
	checks := j.TaskGroups[0].Services[0].Checks
	want := []*structs.ServiceCheck{
		{Name: "a", Type: "tcp", TaskName: "t", OnUpdate: "ignore", CheckRestart: &structs.CheckRestart{Limit: 2, Grace: time.Second}},
		{Name: "b", Type: "tcp", TaskName: "u", OnUpdate: "require_healthy", CheckRestart: &structs.CheckRestart{Limit: 5}},
	}
	if !reflect.DeepEqual(checks, want) {
		t.Errorf("checks:\n got %+v %+v\nwant %+v %+v", checks[0], checks[1], want[0], want[1])
	}
	if m := api.JobFromStructs(j).TaskGroups[0].Services[0].CanaryMeta; m["a"] != "b" {
		t.Errorf("canary meta back on the wire: %v", m)
	}
	if tm := j.TaskGroups[0].Tasks[0].Templates[0]; tm.Splay != structs.DefaultTemplateSplay || tm.EmbeddedTmpl != "x" || tm.DestPath != "local/x" ||
		tm.Wait == nil || *tm.Wait != (structs.TemplateWait{Min: 2 * time.Second}) {
		t.Errorf("template: %+v", tm)
	}
	if w := api.JobFromStructs(j).TaskGroups[0].Tasks[0].Templates[0].Wait; w == nil || *w.Min != 2*time.Second || *w.Max != 0 {
		t.Errorf("template wait back on the wire: %+v", w)
	}

	var connect api.JobRegisterRequest
	if err := json.Unmarshal([]byte(`{"Job": {"ID": "j", "TaskGroups": [{"Name": "g",
		"Services": [{"Name": "s", "Connect": {"Native": true}, "Checks": [{"Name": "a", "Expose": true}]}]}]}}`), &connect); err != nil {
		t.Fatal(err)
	}
	got := api.UnsupportedFields("", &connect)
	if w := []string{"Job.TaskGroups[0].Services[0].Checks[0].Expose", "Job.TaskGroups[0].Services[0].Connect"}; !reflect.DeepEqual(got, w) {
		t.Errorf("unsupported fields: %q, want %q", got, w)
	}
}

// Check results go out keyed by ID with Nomad's unix-second timestamps.
func TestChecksWire(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := []*structs.CheckQueryResult{{ID: "c1", Check: "h", Group: "g", Task: "t", Service: "s", Type: "http", Mode: "healthiness",
		OnUpdate: "require_healthy", Status: "passing", StatusCode: 200, Output: "ok", Timestamp: at.UnixNano() + 7, HealthySince: 1},
		{ID: "c2", Check: "never-ran", Status: "critical"}}
	w := throughJSON[map[string]*api.AllocCheckStatus](t, api.ChecksFromStructs(in))
	if got := (*w)["c1"].Timestamp; got != at.Unix() {
		t.Errorf("timestamp %d, want unix seconds %d", got, at.Unix())
	}
	got := api.ChecksToStructs(*w)
	want := map[string]*structs.CheckQueryResult{
		"c1": {ID: "c1", Check: "h", Group: "g", Task: "t", Service: "s", Mode: "healthiness", Status: "passing", StatusCode: 200,
			Output: "ok", Timestamp: at.UnixNano()},
		"c2": {ID: "c2", Check: "never-ran", Status: "critical"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("check results: got %+v %+v", got["c1"], got["c2"])
	}
}
