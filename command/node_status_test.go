package command

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/api/apitest"
	"github.com/orch-io/orch/structs"
)

func TestNodeStatus(t *testing.T) {
	a := startAgent(t)
	if r := runCLI(t, "node", "status", "-address", a.addr); r.code != 0 || r.stdout != "No nodes registered\n" {
		t.Errorf("no nodes: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "node", "pool", "list", "-address", a.addr); r.code != 0 || r.stdout != "No node pools: no nodes registered\n" {
		t.Errorf("no pools: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	n1 := apitest.Node("f840a518-0000-0000-0000-000000000000", "node-1")
	n1.ReservedResources = &structs.NodeResources{CPU: 500, MemoryMB: 512}
	n1.Drivers["docker"] = &structs.DriverInfo{Detected: true, Healthy: false, HealthDescription: "daemon not running"}
	n1.Meta = map[string]string{"rack": "r1"}
	n2 := apitest.Node("f9000000-0000-0000-0000-000000000000", "node-2")
	n2.NodeClass = "gpu"
	n2.NodePool = "gpu"
	n2.Status = structs.NodeStatusDown
	n2.SchedulingEligibility = structs.NodeIneligible
	a.backend.UpsertNode(n1)
	a.backend.UpsertNode(n2)
	job := apitest.Job("web")
	a.backend.UpsertJob(job)
	a.backend.UpsertAlloc(apitest.Alloc("a1000000-0000-0000-0000-000000000000", "e1", job, n1, "web", 0))
	stopped := apitest.Alloc("a2000000-0000-0000-0000-000000000000", "e1", job, n1, "web", 1)
	stopped.DesiredStatus = structs.AllocDesiredStatusStop
	stopped.ClientStatus = structs.AllocClientStatusComplete
	a.backend.UpsertAlloc(stopped)
	a.backend.UpsertAlloc(apitest.Alloc("a3000000-0000-0000-0000-000000000000", "e1", job, n2, "web", 2))

	r := runCLI(t, "node", "pool", "list", "-address", a.addr)
	if r.code != 0 || r.stdout != "Name     Nodes\ndefault  1\ngpu      1\n" {
		t.Errorf("node pool list: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	r = runCLI(t, "node", "status", "-address", a.addr)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID DC Name Class Drain Eligibility Status" {
		t.Fatalf("node list:\n%s", r.stdout)
	}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != "f840a518 dc1 node-1 <none> false eligible ready" {
		t.Errorf("node-1 row %q", got)
	}
	if got := strings.Join(strings.Fields(lines[2]), " "); got != "f9000000 dc1 node-2 gpu false ineligible down" {
		t.Errorf("node-2 row %q", got)
	}

	r = runCLI(t, "node", "status", "-address", a.addr, "f8")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "node status", r.stdout,
		"ID                = f840a518\n",
		"Name              = node-1\n",
		"Class             = <none>\n",
		"DC                = dc1\n",
		"Node Pool         = default\n",
		"Drain             = false\n",
		"Eligibility       = eligible\n",
		"Status            = ready\n",
		"Drivers           = raw_exec\n",
		"Unhealthy Drivers = docker\n",
		// Only the running allocation counts; totals are less the reserved resources.
		"\nAllocated Resources\nCPU           Memory       Disk\n100/3500 MHz  128/7680 MB  300/102400 MB\n",
		"\nReserved Resources\n",
		"\nAllocations\nID        Job ID  Task Group",
		"a1000000  web", "a2000000  web",
	)
	if strings.Contains(r.stdout, "a3000000") {
		t.Errorf("an allocation of another node is listed:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "Attributes") {
		t.Error("attributes shown without -verbose")
	}

	r = runCLI(t, "node", "status", "-verbose", "-address", a.addr, "f840")
	mustContain(t, "node status -verbose", r.stdout,
		"ID                = f840a518-0000-0000-0000-000000000000\n",
		"\nAttributes\ncpu.arch        = amd64\n", "kernel.name     = linux\n",
		"\nMeta\nrack = r1\n",
		"docker    true      false    daemon not running",
	)

	r = runCLI(t, "node", "status", "-address", a.addr, "f")
	if r.code != 1 || r.stderr != "Error: prefix \"f\" matches 2 nodes: f840a518, f9000000; use more characters\n" {
		t.Errorf("ambiguous: exit %d, stderr %q", r.code, r.stderr)
	}
}
