package scheduler

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

// Scenario files (testdata/scenarios/*.txt) describe a cluster, a job and
// events, one command per line, and hold the expected result of every eval
// after a "----" line, up to the next blank line:
//
//	node n1 mem=1024
//	job count=3 mem=600
//	eval
//	----
//	place job.web[0] on n1
//	...
//
// Run with -rewrite to regenerate the expected output in place, then review
// the diff.
//
// Commands:
//
//	node NAME [cpu=] [mem=] [disk=] [dc=] [class=] [pool=] [attr.K=V] [meta.K=V]
//	          [driver=D] [sick-driver=D] [no-driver=D] [ineligible] [status=down]
//	          [ports=MIN-MAX] [reserved-ports=22,80,8000-8100]
//	node-status NAME ready|down
//	job [id=job] [type=batch] [group=web] [count=] [cpu=] [mem=] [disk=] [dcs=a,b]
//	    [driver=] [command=] [pool=] [priority=] [stop] [start]
//	    [constraint=L,OP,R] [group-constraint=L,OP,R] (R may hold commas)
//	    [static=LABEL:PORT]... [dynamic=LABEL]...
//	    [affinity=L,OP,R,WEIGHT] (job level) [spread=ATTR,WEIGHT[,VALUE:PERCENT...]] (group level)
//	    registers the job, or changes it (the named group is added if new)
//	client-status ALLOC-NAME[@NODE] running|complete|failed
//	    (@NODE picks one of the same-named allocations of a system job)
//	eval [job=job]   processes an eval and prints the plan, the eval and the live allocations
//	purge [job=job]  deletes the job, as `job stop -purge` does, and processes
//	                 its deregister eval like eval
//	health, clock, watch, promote, deployment, client-stops and the job's
//	    update arguments drive deployments: see scenario_deploy_test.go
//	scheduler-config [preempt=system,sysbatch,batch,service]
//	    sets the cluster's scheduler configuration: preemption enabled for the
//	    listed scheduler types only (default configuration: system)
var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of scenario files")

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) { runScenarioFile(t, file) })
	}
}

func runScenarioFile(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	sc := &scenario{h: newHarness(t), jobs: map[string]*structs.Job{}, evaluated: map[string]int{}}
	var out []string // the file as rewritten
	var last string  // output of the last command
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line != "----" {
			out = append(out, line)
			if cmd := strings.TrimSpace(line); cmd != "" && !strings.HasPrefix(cmd, "#") {
				last = sc.do(t, fmt.Sprintf("%s:%d", file, i+1), cmd)
			}
			continue
		}
		j := i + 1
		for j < len(lines) && lines[j] != "" {
			j++
		}
		want := strings.Join(lines[i+1:j], "\n")
		if !*rewrite && want != last {
			t.Errorf("%s:%d: output differs (rerun with -rewrite and review the diff)\n--- want\n%s\n--- got\n%s", file, i+1, want, last)
		}
		out = append(out, "----")
		if last != "" {
			out = append(out, strings.Split(last, "\n")...)
		}
		i = j - 1
	}
	if *rewrite {
		must(t, os.WriteFile(file, []byte(strings.Join(out, "\n")+"\n"), 0o644))
	}
}

type scenario struct {
	h    *harness
	jobs map[string]*structs.Job
	// evaluated is the watcher's memory: per deployment, the healthy
	// allocations its last evaluation saw (scenario_deploy_test.go).
	evaluated map[string]int
}

func (sc *scenario) do(t *testing.T, pos, cmd string) string {
	t.Helper()
	fields := strings.Fields(cmd)
	name, args := fields[0], fields[1:]
	fail := func(format string, a ...any) { t.Fatalf("%s: %s: %s", pos, cmd, fmt.Sprintf(format, a...)) }
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			fail("%q is not a number", s)
		}
		return n
	}
	switch name {
	case "node":
		if len(args) == 0 {
			fail("node needs a name")
		}
		b := mockNode(args[0])
		pool := ""
		for _, arg := range args[1:] {
			k, v, _ := strings.Cut(arg, "=")
			switch {
			case k == "cpu":
				b.CPU(atoi(v))
			case k == "mem":
				b.Mem(atoi(v))
			case k == "disk":
				b.Disk(atoi(v))
			case k == "dc":
				b.DC(v)
			case k == "class":
				b.Class(v)
			case k == "pool":
				pool = v
			case k == "driver":
				b.Driver(v, true)
			case k == "sick-driver":
				b.Driver(v, false)
			case k == "no-driver":
				b.NoDriver(v)
			case k == "ineligible":
				b.Ineligible()
			case k == "status":
				b.Status(structs.NodeStatus(v))
			case k == "ports":
				lo, hi, _ := strings.Cut(v, "-")
				b.n.NodeResources.MinDynamicPort, b.n.NodeResources.MaxDynamicPort = atoi(lo), atoi(hi)
			case k == "reserved-ports":
				b.n.ReservedResources = &structs.NodeResources{ReservedHostPorts: v}
			case strings.HasPrefix(k, "attr."):
				b.Attr(strings.TrimPrefix(k, "attr."), v)
			case strings.HasPrefix(k, "meta."):
				b.Meta(strings.TrimPrefix(k, "meta."), v)
			default:
				fail("unknown node argument %q", arg)
			}
		}
		n := b.Build()
		n.NodePool = pool
		sc.h.upsertNodes(n)
	case "node-status":
		if len(args) != 2 {
			fail("want node-status NAME STATUS")
		}
		sc.h.setNodeStatus("node-"+args[0], structs.NodeStatus(args[1]))
	case "job":
		sc.job(args, fail, atoi)
	case "scheduler-config":
		cfg := structs.DefaultSchedulerConfiguration()
		cfg.PreemptionConfig = structs.PreemptionConfig{}
		for _, arg := range args {
			k, v, _ := strings.Cut(arg, "=")
			if k != "preempt" {
				fail("unknown scheduler-config argument %q", arg)
			}
			for _, typ := range strings.Split(v, ",") {
				switch structs.JobType(typ) {
				case structs.JobTypeSystem:
					cfg.PreemptionConfig.SystemSchedulerEnabled = true
				case structs.JobTypeSysBatch:
					cfg.PreemptionConfig.SysBatchSchedulerEnabled = true
				case structs.JobTypeBatch:
					cfg.PreemptionConfig.BatchSchedulerEnabled = true
				case structs.JobTypeService:
					cfg.PreemptionConfig.ServiceSchedulerEnabled = true
				case "":
				default:
					fail("unknown job type %q", typ)
				}
			}
		}
		sc.h.setSchedulerConfig(cfg)
	case "client-status":
		if len(args) != 2 {
			fail("want client-status ALLOC-NAME STATUS")
		}
		a := sc.h.liveAlloc(args[0])
		if a == nil {
			fail("no live allocation %s", args[0])
		}
		sc.h.setClientStatus(a.ID, structs.AllocClientStatus(args[1]))
	case "eval", "purge":
		id := "job"
		if len(args) == 1 {
			id = strings.TrimPrefix(args[0], "job=")
		}
		job := sc.h.store.JobByID("default", id)
		if job == nil {
			fail("no job %s", id)
		}
		trigger := structs.EvalTriggerJobRegister
		if name == "purge" {
			must(t, sc.h.store.DeleteJob(sc.h.nextIndex(), "default", id))
			trigger = structs.EvalTriggerJobDeregister
		}
		plans, created := len(sc.h.plans), len(sc.h.created)
		sc.h.process(job.Type, sc.h.newEval(job, trigger))
		return sc.render(job.ID, sc.h.plans[plans:], sc.h.created[created:])
	default:
		if out, ok := sc.deployCommand(name, args, fail); ok {
			return out
		}
		fail("unknown command")
	}
	return ""
}

func (sc *scenario) job(args []string, fail func(string, ...any), atoi func(string) int) {
	id, group := "job", "web"
	for _, arg := range args {
		k, v, _ := strings.Cut(arg, "=")
		switch k {
		case "id":
			id = v
		case "group":
			group = v
		}
	}
	var job *structs.Job
	if cur := sc.h.store.JobByID("default", id); cur != nil {
		job = cur.Copy()
	} else {
		job = mockJob().ID(id).Build()
		job.TaskGroups[0].Name = group
	}
	tg := job.LookupTaskGroup(group)
	if tg == nil {
		tg = job.TaskGroups[0].Copy()
		tg.Name, tg.Count = group, 1
		job.TaskGroups = append(job.TaskGroups, tg)
	}
	task := tg.Tasks[0]
	constraint := func(v string) *structs.Constraint {
		parts := strings.SplitN(v, ",", 3)
		if len(parts) != 3 {
			fail("constraint %q: want L,OP,R", v)
		}
		return &structs.Constraint{LTarget: parts[0], Operand: parts[1], RTarget: parts[2]}
	}
	for _, arg := range args {
		k, v, _ := strings.Cut(arg, "=")
		switch k {
		case "id", "group":
		case "type":
			job.Type = structs.JobType(v)
		case "count":
			tg.Count = atoi(v)
		case "priority":
			job.Priority = atoi(v)
		case "cpu":
			task.Resources.CPU = atoi(v)
		case "mem":
			task.Resources.MemoryMB = atoi(v)
		case "disk":
			tg.EphemeralDisk.SizeMB = atoi(v)
		case "dcs":
			job.Datacenters = strings.Split(v, ",")
		case "pool":
			job.NodePool = v
		case "driver":
			task.Driver = v
		case "command":
			task.Config["command"] = v
		case "constraint":
			job.Constraints = append(job.Constraints, constraint(v))
		case "group-constraint":
			tg.Constraints = append(tg.Constraints, constraint(v))
		case "affinity": // L,OP,R,WEIGHT
			parts := strings.Split(v, ",")
			if len(parts) != 4 {
				fail("affinity %q: want L,OP,R,WEIGHT", v)
			}
			job.Affinities = append(job.Affinities, &structs.Affinity{
				LTarget: parts[0], Operand: parts[1], RTarget: parts[2], Weight: int8(atoi(parts[3]))})
		case "spread": // ATTR,WEIGHT[,VALUE:PERCENT...]
			parts := strings.Split(v, ",")
			if len(parts) < 2 {
				fail("spread %q: want ATTR,WEIGHT[,VALUE:PERCENT...]", v)
			}
			sp := &structs.Spread{Attribute: parts[0], Weight: int8(atoi(parts[1]))}
			for _, t := range parts[2:] {
				val, pct, _ := strings.Cut(t, ":")
				sp.SpreadTarget = append(sp.SpreadTarget, &structs.SpreadTarget{Value: val, Percent: uint8(atoi(pct))})
			}
			tg.Spreads = append(tg.Spreads, sp)
		case "stop":
			job.Stop = true
		case "start":
			job.Stop = false
		case "static", "dynamic":
			if len(tg.Networks) == 0 {
				tg.Networks = []*structs.NetworkResource{{Mode: structs.NetworkModeHost}}
			}
			n := tg.Networks[0]
			if label, port, ok := strings.Cut(v, ":"); ok && k == "static" {
				n.ReservedPorts = append(n.ReservedPorts, structs.Port{Label: label, Value: atoi(port)})
			} else {
				n.DynamicPorts = append(n.DynamicPorts, structs.Port{Label: v})
			}
		default:
			if !updateArg(tg, k, v, fail, atoi) {
				fail("unknown job argument %q", arg)
			}
		}
	}
	sc.h.upsertJob(job)
}

// render prints what an eval did: the plans, the eval's outcome, the blocked
// evals, and the job's live allocations per node.
func (sc *scenario) render(jobID string, plans []*structs.Plan, created []*structs.Evaluation) string {
	var lines []string
	for i, p := range plans {
		if len(plans) > 1 {
			lines = append(lines, fmt.Sprintf("plan %d:", i+1))
		}
		var ops []string
		nodeName := func(id string) string { return strings.TrimPrefix(id, "node-") }
		for node, allocs := range p.NodeAllocation {
			for _, a := range allocs {
				verb := "place"
				if a.CreateIndex != 0 { // an allocation the state already has
					verb = "update in place"
				}
				op := fmt.Sprintf("%s %s on %s", verb, a.Name, nodeName(node))
				if a.AllocatedResources != nil {
					for _, port := range a.AllocatedResources.Shared.Ports {
						op += fmt.Sprintf(" %s=%d", port.Label, port.Value)
					}
				}
				ops = append(ops, op)
			}
		}
		for node, allocs := range p.NodeUpdate {
			for _, a := range allocs {
				ops = append(ops, fmt.Sprintf("stop %s on %s: %s", a.Name, nodeName(node), a.DesiredDescription))
			}
		}
		names := map[string]string{} // of the plan's placements, by ID
		for _, a := range planAllocs(p.NodeAllocation) {
			names[a.ID] = a.Name
		}
		for node, allocs := range p.NodePreemptions {
			for _, a := range allocs {
				ops = append(ops, fmt.Sprintf("preempt %s on %s for %s", a.Name, nodeName(node), names[a.PreemptedByAllocation]))
			}
		}
		slices.Sort(ops)
		lines = append(lines, ops...)
	}
	e := sc.h.lastEval()
	status := "eval " + string(e.Status)
	if e.StatusDescription != "" {
		status += ": " + e.StatusDescription
	}
	var queued []string
	for _, g := range slices.Sorted(maps.Keys(e.QueuedAllocations)) {
		if e.QueuedAllocations[g] > 0 {
			queued = append(queued, fmt.Sprintf("%s=%d", g, e.QueuedAllocations[g]))
		}
	}
	if len(queued) > 0 {
		status += "; queued " + strings.Join(queued, " ")
	}
	lines = append(lines, status)
	job := sc.h.store.JobByID("default", jobID)
	for _, g := range slices.Sorted(maps.Keys(e.FailedTGAllocs)) {
		m := e.FailedTGAllocs[g]
		count := 0
		if tg := job.LookupTaskGroup(g); tg != nil {
			count = tg.Count
		}
		if job.Type == structs.JobTypeSystem || job.Type == structs.JobTypeSysBatch {
			// One per node: the count is what runs plus what failed.
			count = m.CoalescedFailures + 1
			for _, a := range sc.h.live(jobID) {
				if a.TaskGroup == g {
					count++
				}
			}
		}
		lines = append(lines, FailureSummary(g, count, m.CoalescedFailures+1, m))
	}
	for _, b := range created {
		lines = append(lines, fmt.Sprintf("blocked eval (%s)", b.TriggeredBy))
	}
	perNode := map[string][]string{}
	deployed := sc.h.store.Snapshot().LatestDeploymentByJobID("default", jobID) != nil
	for _, a := range sc.h.live(jobID) {
		perNode[a.NodeName] = append(perNode[a.NodeName], allocLabel(a, deployed))
	}
	for _, n := range slices.Sorted(maps.Keys(perNode)) {
		slices.Sort(perNode[n])
		lines = append(lines, fmt.Sprintf("%s: %s", n, strings.Join(perNode[n], " ")))
	}
	if d := sc.renderDeployment(jobID, false); d != "" {
		lines = append(lines, d)
	}
	return strings.Join(lines, "\n")
}

// allocLabel names a live allocation in a scenario's output; for a job that
// deploys, with its version and deployment flags: c canary, + healthy,
// - unhealthy (job.web[0]/v1c+).
func allocLabel(a *structs.Allocation, deployed bool) string {
	if !deployed {
		return a.Name
	}
	l := fmt.Sprintf("%s/v%d", a.Name, a.Job.Version)
	ds := a.DeploymentStatus
	if ds.IsCanary() {
		l += "c"
	}
	switch {
	case ds.IsHealthy():
		l += "+"
	case ds.IsUnhealthy():
		l += "-"
	}
	return l
}
