package command

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

func TestNodeStatusCLI(t *testing.T) {
	empty := startAgent(t)
	if r := runCLI(t, "node", "status", "-address", empty.addr); r.code != 0 || r.stdout != "No nodes registered\n" {
		t.Errorf("no nodes: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "node", "pool", "list", "-address", empty.addr); r.code != 0 || r.stdout != "No node pools: no nodes registered\n" {
		t.Errorf("no pools: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	a := startClientAgent(t)
	a.register(t, structstest.Job("web"))
	var allocs []*structs.AllocListStub
	waitFor(t, "web running", func() bool {
		allocs, _, _ = a.API.Jobs().Allocations("web", nil)
		return len(allocs) == 1 && allocs[0].ClientStatus == structs.AllocClientStatusRunning
	})

	r := runCLI(t, "node", "pool", "list", "-address", a.addr)
	if r.code != 0 || r.stdout != "Name     Nodes\ndefault  1\n" {
		t.Errorf("node pool list: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "node", "status", "-address", a.addr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "ID DC Name Class Drain Eligibility Status" {
		t.Fatalf("node list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != a.NodeID[:8]+" dc1 node-1 <none> false eligible ready" {
		t.Errorf("node-1 row %q", got)
	}

	r = runCLI(t, "node", "status", "-address", a.addr, a.NodeID[:4])
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Without unhealthy drivers the keys are padded to "Eligibility".
	mustContain(t, "node status", r.stdout,
		"ID          = "+a.NodeID[:8]+"\n",
		"Name        = node-1\n",
		"DC          = dc1\n",
		"Node Pool   = default\n",
		"Eligibility = eligible\n",
		"Status      = ready\n",
		"\nAllocated Resources\nCPU ",
		"\n100/",
		"\nAllocations\nID        Job ID  Task Group",
		allocs[0].ID[:8]+"  web",
	)
	// docker is there where a Docker engine answers.
	if !regexp.MustCompile(`\nDrivers     = (docker,)?(exec,)?mock,raw_exec\n`).MatchString(r.stdout) {
		t.Errorf("node status: drivers line: want mock and raw_exec (and docker where an engine answers, exec as root):\n%s", r.stdout)
	}
	r = runCLI(t, "node", "status", "-verbose", "-address", a.addr, a.NodeID[:4])
	mustContain(t, "node status -verbose", r.stdout, "ID          = "+a.NodeID+"\n", "\nAttributes\n", "kernel.name ")

	if r := runCLI(t, "node", "status", "-address", a.addr, "zzz"); r.code != 1 || !strings.Contains(r.stderr, `no node matches prefix "zzz"`) {
		t.Errorf("unknown prefix: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestFormatNodeStatus covers what one dev agent cannot show: a second node,
// down, in another pool, an unhealthy driver, reserved resources.
func TestFormatNodeStatus(t *testing.T) {
	n1 := structstest.Node("f840a518-0000-0000-0000-000000000000", "node-1")
	n1.ReservedResources = &structs.NodeResources{CPU: 500, MemoryMB: 512}
	n1.Drivers["docker"] = &structs.DriverInfo{Detected: true, Healthy: false, HealthDescription: "daemon not running"}
	n1.Meta = map[string]string{"rack": "r1"}
	n2 := structstest.Node("f9000000-0000-0000-0000-000000000000", "node-2")
	n2.NodeClass = "gpu"
	n2.NodePool = "gpu"
	n2.Status = structs.NodeStatusDown
	n2.SchedulingEligibility = structs.NodeIneligible
	job := structstest.Job("web")
	running := structstest.Alloc("a1000000-0000-0000-0000-000000000000", "e1", job, n1, "web", 0)
	stopped := structstest.Alloc("a2000000-0000-0000-0000-000000000000", "e1", job, n1, "web", 1)
	stopped.DesiredStatus = structs.AllocDesiredStatusStop
	stopped.ClientStatus = structs.AllocClientStatusComplete

	out := formatNodeList([]*structs.NodeListStub{n1.Stub(), n2.Stub()}, false)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID DC Name Class Drain Eligibility Status" {
		t.Fatalf("node list:\n%s", out)
	}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != "f840a518 dc1 node-1 <none> false eligible ready" {
		t.Errorf("node-1 row %q", got)
	}
	if got := strings.Join(strings.Fields(lines[2]), " "); got != "f9000000 dc1 node-2 gpu false ineligible down" {
		t.Errorf("node-2 row %q", got)
	}

	stubs := []*structs.AllocListStub{running.Stub(), stopped.Stub()}
	out = formatNodeStatus(n1, stubs, []*structs.Allocation{running}, time.Now(), false)
	mustContain(t, "node status", out,
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
	if strings.Contains(out, "Attributes") {
		t.Error("attributes shown without -verbose")
	}
	mustContain(t, "node status -verbose", formatNodeStatus(n1, stubs, []*structs.Allocation{running}, time.Now(), true),
		"ID                = f840a518-0000-0000-0000-000000000000\n",
		"\nAttributes\ncpu.arch        = amd64\n", "kernel.name     = linux\n",
		"\nMeta\nrack = r1\n",
		"docker    true      false    daemon not running",
	)

	// A node that offers cores shows how many its allocations hold, which,
	// and the ones it keeps back.
	n1.NodeResources.Cores = []int{0, 1, 2, 3}
	n1.ReservedResources.Cores = []int{0}
	running.AllocatedResources.Tasks["server"].ReservedCores = []int{2, 3}
	mustContain(t, "node status with cores", formatNodeStatus(n1, stubs, []*structs.Allocation{running}, time.Now(), false),
		"Disk           Cores\n", "2/3 (2-3)\n",
		"\nReserved Resources\nCPU      Memory  Disk  Cores\n500 MHz  512 MB  0 MB  0\n",
	)
}
