package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// TestDevAgentRunsJobsAcrossRestart walks the skeleton end to end: a batch job
// runs to completion and leaves its output; a service job's three allocations
// run as real processes, survive a graceful agent restart on the same data dir
// (they run on under the supervisor, keep their PIDs, are never duplicated),
// and end when the job is stopped.
func TestDevAgentRunsJobsAcrossRestart(t *testing.T) {
	dataDir := t.TempDir()
	ports := freePorts(t)
	a := startDevAgent(t, dataDir, ports)

	// Batch: hello runs once and completes.
	out, stderr, code := a.orch("job", "run", "examples/hello.hcl")
	if code != 0 {
		t.Fatalf("orch job run examples/hello.hcl: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	mustContain(t, "job run output", out, "Monitoring evaluation", `finished with status "complete"`)
	var helloAllocs []*structs.AllocListStub
	a.waitFor("hello to complete", 30*time.Second, func() (bool, error) {
		if err := a.get("/v1/job/hello/allocations", &helloAllocs); err != nil {
			return false, err
		}
		return len(helloAllocs) == 1 && helloAllocs[0].ClientStatus == structs.AllocClientStatusComplete, nil
	})
	logs, _ := filepath.Glob(filepath.Join(dataDir, "client", "allocs", helloAllocs[0].ID, "alloc", "logs", "*.stdout.0"))
	if len(logs) != 1 {
		t.Fatalf("want one stdout log for alloc %s, found %v", helloAllocs[0].ID, logs)
	}
	output, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "hello's stdout", string(output), "hello", helloAllocs[0].ID)

	// Service: web runs 3 allocations, each a live process.
	if out, stderr, code := a.orch("job", "run", "examples/web.hcl"); code != 0 {
		t.Fatalf("orch job run examples/web.hcl: exit %d\n%s\n%s", code, out, stderr)
	}
	before := waitWebRunning(t, a)
	checkWebPorts(t, a, before)

	status, _, code := a.orch("job", "status", "web")
	if code != 0 {
		t.Fatalf("orch job status web: exit %d", code)
	}
	mustContain(t, "job status", status, "web", "running")

	// Graceful restart on the same data dir: the tasks run on.
	a.stop()
	for id, pids := range before {
		if !slices.Contains(allocPIDs(id), taskShell(pids)) {
			t.Fatalf("after the agent stopped, alloc %s lost its task process %d", id, taskShell(pids))
		}
	}
	a = startDevAgent(t, dataDir, ports)
	var job structs.Job
	if err := a.get("/v1/job/web", &job); err != nil {
		t.Fatalf("job web lost across the restart: %v", err)
	}
	after := waitWebRunning(t, a)
	for id, pids := range after {
		if _, ok := before[id]; !ok {
			t.Errorf("alloc %s is new after the restart; the restarted agent must run the same allocations", id)
		} else if taskShell(pids) != taskShell(before[id]) {
			t.Errorf("alloc %s: task pid %d after the restart, want the same %d", id, taskShell(pids), taskShell(before[id]))
		}
	}

	// Stop: every process ends.
	if out, stderr, code := a.orch("job", "stop", "web"); code != 0 {
		t.Fatalf("orch job stop web: exit %d\n%s\n%s", code, out, stderr)
	}
	a.waitFor("web's processes to end", 30*time.Second, func() (bool, error) {
		for id := range after {
			if len(allocPIDs(id)) != 0 {
				return false, nil
			}
		}
		return true, nil
	})
	a.waitFor("web to be dead", 30*time.Second, func() (bool, error) {
		err := a.get("/v1/job/web", &job)
		return err == nil && job.Status == structs.JobStatusDead, err
	})
	a.stop()
}

// waitWebRunning waits until web has exactly three running allocations, each
// with exactly one live process, and returns their IDs with their PIDs.
func waitWebRunning(t *testing.T, a *agentProc) map[string][]int {
	t.Helper()
	var procs map[string][]int
	a.waitFor("3 running allocations of web with live processes", 60*time.Second, func() (bool, error) {
		var allocs []*structs.AllocListStub
		if err := a.get("/v1/job/web/allocations", &allocs); err != nil {
			return false, err
		}
		running := runningAllocs(allocs)
		if len(running) != 3 {
			return false, nil
		}
		procs = map[string][]int{}
		for _, al := range running {
			pids := allocPIDs(al.ID)
			if len(pids) == 0 {
				return false, nil
			}
			procs[al.ID] = pids
		}
		return true, nil
	})
	// A task is one /bin/sh loop; its sleep child may come and go.
	for id, pids := range procs {
		shells := slices.DeleteFunc(slices.Clone(pids), func(pid int) bool {
			comm, _ := os.ReadFile(filepath.Join("/proc", itoa(pid), "comm"))
			return strings.TrimSpace(string(comm)) != "sh"
		})
		if len(shells) != 1 {
			t.Fatalf("alloc %s: want exactly one task shell, found %d (pids %v)", id, len(shells), pids)
		}
	}
	return procs
}

// taskShell is the task's /bin/sh among pids.
func taskShell(pids []int) int {
	for _, pid := range pids {
		if comm, _ := os.ReadFile(filepath.Join("/proc", itoa(pid), "comm")); strings.TrimSpace(string(comm)) == "sh" {
			return pid
		}
	}
	return 0
}

// checkWebPorts checks that every allocation of web got its own dynamic http
// port from the default range, and that its task shell sees it in
// ORCH_PORT_http and NOMAD_PORT_http.
func checkWebPorts(t *testing.T, a *agentProc, procs map[string][]int) {
	t.Helper()
	seen := map[int]string{}
	for id, pids := range procs {
		var alloc structs.Allocation
		if err := a.get("/v1/allocation/"+id, &alloc); err != nil {
			t.Fatal(err)
		}
		var ports structs.AllocatedPorts
		if alloc.AllocatedResources != nil {
			ports = alloc.AllocatedResources.Shared.Ports
		}
		http, ok := ports.Get("http")
		if !ok || http.Value < structs.DefaultMinDynamicPort || http.Value > structs.DefaultMaxDynamicPort {
			t.Fatalf("alloc %s: ports %+v, want a dynamic http port in the default range", id, ports)
		}
		if other, dup := seen[http.Value]; dup {
			t.Fatalf("allocs %s and %s both hold port %d", other, id, http.Value)
		}
		seen[http.Value] = id
		found := false
		for _, pid := range pids {
			environ, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "environ"))
			if err != nil {
				continue // a sleep child that has just ended
			}
			vars := strings.Split(string(environ), "\x00")
			if slices.Contains(vars, "ORCH_PORT_http="+itoa(http.Value)) && slices.Contains(vars, "NOMAD_PORT_http="+itoa(http.Value)) {
				found = true
			}
		}
		if !found {
			t.Fatalf("alloc %s: no task process has ORCH_PORT_http=%d and NOMAD_PORT_http in its environment", id, http.Value)
		}
	}
}
