package allocrunner

import (
	"slices"
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestBuildTaskEnv(t *testing.T) {
	task := shellTask("web", "true")
	task.Env = map[string]string{"HOME": "/task-home", "APP_MODE": "prod", "ORCH_TASK_NAME": "spoofed"}
	alloc := testAlloc(testJob(structs.JobTypeService, nil, task))
	alloc.Name = "example.web[3]"
	alloc.AllocatedResources = &structs.AllocatedResources{Tasks: map[string]*structs.Resources{"web": {CPU: 250, MemoryMB: 128}}}

	env := buildTaskEnv(taskEnvInput{
		Alloc: alloc, Task: task, Node: &structs.Node{ID: "n1", Name: "node-one", Datacenter: "east"},
		AllocDir: "/a/alloc", TaskDir: "/a/web/local", Secrets: "/a/web/secrets",
		AgentEnv: []string{"HOME=/agent-home", "PATH=/usr/bin", "BROKEN", "=nokey"},
	})
	get := func(k string) (string, bool) {
		for _, kv := range env {
			if key, v, _ := strings.Cut(kv, "="); key == k {
				return v, true
			}
		}
		return "", false
	}
	want := map[string]string{
		"PATH": "/usr/bin", "HOME": "/task-home", "APP_MODE": "prod",
		"ORCH_TASK_NAME": "web", "NOMAD_TASK_NAME": "web", "ORCH_ALLOC_INDEX": "3", "NOMAD_ALLOC_INDEX": "3",
		"ORCH_CPU_LIMIT": "250", "ORCH_MEMORY_LIMIT": "128", "ORCH_DC": "east", "ORCH_NODE_NAME": "node-one",
		"ORCH_ALLOC_DIR": "/a/alloc", "ORCH_TASK_DIR": "/a/web/local", "NOMAD_SECRETS_DIR": "/a/web/secrets",
		"ORCH_JOB_ID": "example", "ORCH_GROUP_NAME": "web",
	}
	for k, v := range want {
		if got, ok := get(k); !ok || got != v {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	if _, ok := get("BROKEN"); ok {
		t.Error("a malformed agent variable was passed on")
	}
	keys := make([]string, len(env))
	for i, kv := range env {
		keys[i], _, _ = strings.Cut(kv, "=")
	}
	if !slices.IsSorted(keys) {
		t.Error("environment not sorted by key")
	}
}

func TestBuildTaskEnvPorts(t *testing.T) {
	task := shellTask("web", "true")
	alloc := testAlloc(testJob(structs.JobTypeService, nil, task))
	alloc.AllocatedResources = &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{Ports: structs.AllocatedPorts{
		{Label: "http", Value: 23456, HostIP: "10.0.0.7"},
		{Label: "db", Value: 5432, To: 6543, HostIP: "10.0.0.7"},
		{Label: "v6", Value: 30000, HostIP: "fd00::1"},
		{Label: "old", Value: 30001}, // recorded before the scheduler knew the address
	}}}
	env := buildTaskEnv(taskEnvInput{Alloc: alloc, Task: task, Node: &structs.Node{HTTPAddr: "192.168.1.2:4646"}})
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	for _, prefix := range []string{"ORCH_", "NOMAD_"} {
		for k, want := range map[string]string{
			"PORT_http": "23456", "HOST_PORT_http": "23456", "IP_http": "10.0.0.7", "ADDR_http": "10.0.0.7:23456",
			"HOST_IP_http": "10.0.0.7", "HOST_ADDR_http": "10.0.0.7:23456",
			"PORT_db": "6543", "HOST_PORT_db": "5432", "ADDR_db": "10.0.0.7:5432",
			"ADDR_v6": "[fd00::1]:30000", "IP_v6": "fd00::1",
			"IP_old": "192.168.1.2", "ADDR_old": "192.168.1.2:30001",
		} {
			if got[prefix+k] != want {
				t.Errorf("%s%s = %q, want %q", prefix, k, got[prefix+k], want)
			}
		}
	}
}

func TestCheckTaskName(t *testing.T) {
	for _, ok := range []string{"web", "web-1", "a.b"} {
		if err := checkTaskName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "alloc", "x\x00"} {
		if err := checkTaskName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
