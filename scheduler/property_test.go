package scheduler

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

// TestPropertyRandomClusters drives random clusters through random events —
// registrations, count changes, destructive updates, stops, nodes going down,
// allocations finishing — and checks after every evaluation that:
//
//   - no node is over-committed (the harness checks every committed plan
//     against a naive sum of the node's allocations);
//   - no host port is held twice on a node, nor one the node reserves;
//   - no group has more live allocations than its count, nor two with one name;
//   - every evaluation ends complete;
//   - a group with no recorded failure has all its names held;
//   - a recorded failure is honest: no eligible node has room for one more
//     allocation of the group (checked the naive way);
//   - distinct_hosts and distinct_property (drawn with a separate source, so
//     the other draws stay as they were) hold over the live allocations.
func TestPropertyRandomClusters(t *testing.T) {
	scenarios := 150
	if testing.Short() {
		scenarios = 30
	}
	for seed := range uint64(scenarios) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runRandomScenario(t, seed) })
	}
}

func runRandomScenario(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 42))
	h := newHarness(t)
	h.seed = seed

	dcs := []string{"dc1", "dc2", "eu-1"}
	var nodes []*structs.Node
	for i := range 1 + r.IntN(12) {
		b := mockNode(fmt.Sprintf("n%d", i)).
			CPU(500 * (1 + r.IntN(8))).Mem(512 * (1 + r.IntN(8))).Disk(1000 * (1 + r.IntN(4))).
			DC(dcs[r.IntN(len(dcs))])
		if r.IntN(5) == 0 {
			b.Attr("kernel.name", "windows")
		}
		if r.IntN(3) == 0 {
			b.Driver("docker", r.IntN(4) != 0)
		}
		if r.IntN(8) == 0 {
			b.Ineligible()
		}
		if r.IntN(2) == 0 { // a small dynamic range, to run out of
			b.n.NodeResources.MinDynamicPort = 20000
			b.n.NodeResources.MaxDynamicPort = 20000 + r.IntN(6)
		}
		if r.IntN(3) == 0 {
			b.n.ReservedResources = &structs.NodeResources{ReservedHostPorts: []string{"22", "80,20001", "20000-20002"}[r.IntN(3)]}
		}
		nodes = append(nodes, b.Build())
	}
	dr := rand.New(rand.NewPCG(seed, 43)) // distinct_* and racks
	for _, n := range nodes {
		if dr.IntN(6) > 0 {
			n.Meta["rack"] = fmt.Sprint("r", dr.IntN(3))
		}
	}
	h.upsertNodes(nodes...)

	jb := mockJob().DCs([]string{"dc*", "*", "eu-*"}[r.IntN(3)]).Count(r.IntN(8)).
		CPU(100 * (1 + r.IntN(10))).Mem(128 * (1 + r.IntN(10))).Disk(100 * (1 + r.IntN(5)))
	if r.IntN(2) == 0 {
		jb.Batch()
	}
	if r.IntN(3) == 0 {
		jb.Constraint("${attr.kernel.name}", "=", "linux")
	}
	if r.IntN(2) == 0 {
		jb.Group("api").Count(r.IntN(6)).Mem(64 * (1 + r.IntN(20)))
		if r.IntN(3) == 0 {
			jb.Driver("docker")
		}
	}
	switch dr.IntN(5) {
	case 0:
		jb.Constraint("", "distinct_hosts", "true")
	case 1:
		jb.GroupConstraint("", "distinct_hosts", "")
	}
	switch dr.IntN(5) {
	case 0:
		jb.Constraint("${meta.rack}", "distinct_property", fmt.Sprint(1+dr.IntN(3)))
	case 1:
		jb.TaskConstraint("${meta.rack}", "distinct_property", fmt.Sprint(1+dr.IntN(4)))
	}
	built := jb.Build()
	for _, tg := range built.TaskGroups {
		if r.IntN(2) == 0 {
			n := &structs.NetworkResource{Mode: structs.NetworkModeHost}
			if r.IntN(2) == 0 {
				n.ReservedPorts = []structs.Port{{Label: "s", Value: []int{22, 80, 20001}[r.IntN(3)]}}
			}
			for i := range r.IntN(3) {
				n.DynamicPorts = append(n.DynamicPorts, structs.Port{Label: fmt.Sprintf("d%d", i)})
			}
			tg.Networks = []*structs.NetworkResource{n}
		}
	}
	job := h.upsertJob(built)
	check := func(event string) {
		t.Helper()
		h.process(job.Type, h.newEval(job, structs.EvalTriggerJobRegister))
		checkInvariants(t, h, event)
	}
	check("register")

	for step := range 8 {
		switch r.IntN(6) {
		case 0: // count change
			j := job.Copy()
			g := j.TaskGroups[r.IntN(len(j.TaskGroups))]
			g.Count = r.IntN(10)
			job = h.upsertJob(j)
			check(fmt.Sprintf("step %d: count of %s → %d", step, g.Name, g.Count))
		case 1: // destructive update
			j := job.Copy()
			t0 := j.TaskGroups[r.IntN(len(j.TaskGroups))].Tasks[0]
			t0.Config["command"] = fmt.Sprintf("/bin/v%d", step)
			t0.Resources.MemoryMB = 64 * (1 + r.IntN(20))
			job = h.upsertJob(j)
			check(fmt.Sprintf("step %d: destructive update", step))
		case 2: // a node goes down, or comes back
			n := nodes[r.IntN(len(nodes))]
			status := structs.NodeStatusDown
			if h.store.NodeByID(n.ID).Status == structs.NodeStatusDown {
				status = structs.NodeStatusReady
			}
			h.setNodeStatus(n.ID, status)
			check(fmt.Sprintf("step %d: node %s %s", step, n.Name, status))
		case 3: // allocations finish
			for _, a := range h.running(job.ID) {
				if r.IntN(3) == 0 {
					h.setClientStatus(a.ID, []structs.AllocClientStatus{
						structs.AllocClientStatusComplete, structs.AllocClientStatusFailed, structs.AllocClientStatusRunning,
					}[r.IntN(3)])
				}
			}
			check(fmt.Sprintf("step %d: allocations finished", step))
		case 4: // stop, or start again
			j := job.Copy()
			j.Stop = !j.Stop
			job = h.upsertJob(j)
			check(fmt.Sprintf("step %d: stop=%v", step, j.Stop))
		case 5: // a new node joins
			n := mockNode(fmt.Sprintf("late%d", step)).DC(dcs[r.IntN(len(dcs))]).Mem(512 * (1 + r.IntN(8))).Build()
			nodes = append(nodes, n)
			h.upsertNodes(n)
			check(fmt.Sprintf("step %d: node %s joins", step, n.Name))
		}
	}
}

func checkInvariants(t *testing.T, h *harness, event string) {
	t.Helper()
	snap := h.store.Snapshot()
	job := snap.JobByID("default", "job")
	e := h.lastEval()
	if e.Status != structs.EvalStatusComplete {
		t.Fatalf("%s: eval %s: %s", event, e.Status, e.StatusDescription)
	}
	live := map[string]int{}
	held := map[string]map[string]bool{}
	for _, a := range snap.AllocsByJob("default", job.ID) {
		if held[a.TaskGroup] == nil {
			held[a.TaskGroup] = map[string]bool{}
		}
		switch {
		case !a.TerminalStatus():
			live[a.TaskGroup]++
			held[a.TaskGroup][a.Name] = true
		case a.DesiredStatus == structs.AllocDesiredStatusRun && !groupChangedDestructively(a.Job, job, a.TaskGroup) &&
			(a.ClientStatus == structs.AllocClientStatusFailed ||
				job.Type == structs.JobTypeBatch && a.ClientStatus == structs.AllocClientStatusComplete):
			held[a.TaskGroup][a.Name] = true
		}
	}
	h.running(job.ID) // reports duplicate live names
	checkNoDoubleBookedPorts(t, snap, event)
	if err := distinctViolation(snap, job); err != "" {
		t.Fatalf("%s: %s\n%s", event, err, dumpState(h))
	}
	for _, tg := range job.TaskGroups {
		want := tg.Count
		if job.Stop {
			want = 0
		}
		if live[tg.Name] > want {
			t.Fatalf("%s: group %s has %d live allocations, count %d", event, tg.Name, live[tg.Name], want)
		}
		failure := e.FailedTGAllocs[tg.Name]
		if failure == nil && !job.Stop && len(held[tg.Name]) < tg.Count {
			t.Fatalf("%s: group %s holds %d of %d names and no failure was recorded\n%s", event, tg.Name, len(held[tg.Name]), tg.Count, dumpState(h))
		}
		if failure != nil && !planHadDestructiveStops(h) {
			if n := nodeWithRoomFor(snap, job, tg); n != nil {
				t.Fatalf("%s: group %s failed (%s) but node %s has room", event, tg.Name,
					FailureSummary(tg.Name, tg.Count, failure.CoalescedFailures+1, failure), n.Name)
			}
		}
	}
}

// planHadDestructiveStops reports whether the last plan stopped allocations
// for destructive updates: those free room after other groups were placed,
// so a failure then is not checkable the naive way.
func planHadDestructiveStops(h *harness) bool {
	if len(h.plans) == 0 {
		return false
	}
	for _, a := range planAllocs(h.lastPlan().NodeUpdate) {
		if a.DesiredDescription == allocUpdating {
			return true
		}
	}
	return false
}

// nodeWithRoomFor is the naive reference: any ready, eligible node of the
// job's datacenters, with the drivers and constraints the group needs, on
// which one more allocation of tg fits beside everything there.
func nodeWithRoomFor(snap State, job *structs.Job, tg *structs.TaskGroup) *structs.Node {
	for _, n := range snap.Nodes("") {
		if !n.Ready() || !matchAnyDatacenter(job.Datacenters, n.Datacenter) || !inPool(job.NodePool, n) {
			continue
		}
		if ok, _ := newDriverFilter(tg).feasible(n); !ok {
			continue
		}
		if ok, _ := newConstraintFilter(job, tg, nil, nil).feasible(n); !ok {
			continue
		}
		if !distinctAllows(snap, job, tg, n) {
			continue
		}
		extra := &structs.Allocation{AllocatedResources: allocatedResources(tg), DesiredStatus: structs.AllocDesiredStatusRun}
		ports, ok := naivePorts(n, snap.AllocsByNode(n.ID), tg)
		if !ok {
			continue
		}
		extra.AllocatedResources.Shared.Ports = ports
		if fit, _, _ := structs.AllocsFit(n, append(snap.AllocsByNode(n.ID), extra)); fit {
			return n
		}
	}
	return nil
}

// liveOf returns the live allocations of job, of group tg or (tg nil) of
// every group.
func liveOf(snap State, job *structs.Job, tg *structs.TaskGroup) []*structs.Allocation {
	var out []*structs.Allocation
	for _, a := range snap.AllocsByJob("default", job.ID) {
		if !a.TerminalStatus() && (tg == nil || a.TaskGroup == tg.Name) {
			out = append(out, a)
		}
	}
	return out
}

// distinctScopes returns, for tg, the enabled distinct_hosts and the
// distinct_property constraints with the group they count (nil: the job).
func distinctScopes(job *structs.Job, tg *structs.TaskGroup) (hosts *structs.TaskGroup, hostsOn bool, props map[*structs.Constraint]*structs.TaskGroup) {
	props = map[*structs.Constraint]*structs.TaskGroup{}
	for _, c := range job.Constraints {
		if c.DistinctHostsEnabled() {
			hostsOn = true
		}
		if c.Operand == structs.ConstraintDistinctProperty {
			props[c] = nil
		}
	}
	for _, c := range ownConstraints(tg) {
		if c.DistinctHostsEnabled() && !hostsOn {
			hosts, hostsOn = tg, true
		}
		if c.Operand == structs.ConstraintDistinctProperty {
			props[c] = tg
		}
	}
	return hosts, hostsOn, props
}

// distinctAllows is the naive check that one more allocation of tg on n
// keeps distinct_hosts and distinct_property, against snap.
func distinctAllows(snap State, job *structs.Job, tg *structs.TaskGroup, n *structs.Node) bool {
	hosts, hostsOn, props := distinctScopes(job, tg)
	if hostsOn {
		for _, a := range liveOf(snap, job, hosts) {
			if a.NodeID == n.ID {
				return false
			}
		}
	}
	for c, scope := range props {
		v, ok := n.Meta["rack"]
		if !ok {
			return false
		}
		limit, _ := c.DistinctPropertyLimit()
		count := 0
		for _, a := range liveOf(snap, job, scope) {
			if snap.NodeByID(a.NodeID).Meta["rack"] == v {
				count++
			}
		}
		if count >= limit {
			return false
		}
	}
	return true
}

// distinctViolation checks distinct_hosts and distinct_property (on
// ${meta.rack}) over the live allocations of job; "" when they hold.
func distinctViolation(snap State, job *structs.Job) string {
	for _, tg := range job.TaskGroups {
		hosts, hostsOn, props := distinctScopes(job, tg)
		if hostsOn {
			seen := map[string]bool{}
			for _, a := range liveOf(snap, job, hosts) {
				if seen[a.NodeID] {
					return fmt.Sprintf("distinct_hosts: two allocations on node %s", a.NodeName)
				}
				seen[a.NodeID] = true
			}
		}
		for c, scope := range props {
			limit, _ := c.DistinctPropertyLimit()
			count := map[string]int{}
			for _, a := range liveOf(snap, job, scope) {
				v, ok := snap.NodeByID(a.NodeID).Meta["rack"]
				if !ok {
					return fmt.Sprintf("distinct_property: allocation %s on node %s without a rack", a.Name, a.NodeName)
				}
				if count[v]++; count[v] > limit {
					return fmt.Sprintf("%s: %d allocations in rack %s", constraintKey(c), count[v], v)
				}
			}
		}
	}
	return ""
}

// dumpState renders the job's allocations and the nodes, for failure messages.
func dumpState(h *harness) string {
	snap := h.store.Snapshot()
	var b strings.Builder
	j := snap.JobByID("default", "job")
	fmt.Fprintf(&b, "job %s version %d stop=%v\n", j.Type, j.JobModifyIndex, j.Stop)
	for _, tg := range j.TaskGroups {
		fmt.Fprintf(&b, "  group %s count %d ask %+v\n", tg.Name, tg.Count, groupAsk(tg))
	}
	for _, n := range snap.Nodes("") {
		_, _, used := structs.AllocsFit(n, snap.AllocsByNode(n.ID))
		fmt.Fprintf(&b, "  node %s %s %s %s offers %+v uses %+v\n", n.Name, n.Datacenter, n.Status, n.SchedulingEligibility, n.Comparable(), used)
	}
	for _, a := range snap.AllocsByJob("default", "job") {
		fmt.Fprintf(&b, "  alloc %s %s on %s: %s/%s version %d %q\n", a.ID[:8], a.Name, a.NodeName, a.DesiredStatus, a.ClientStatus, a.Job.JobModifyIndex, a.DesiredDescription)
	}
	return b.String()
}

// naivePorts is the reference port assignment: the group's static ports, and
// its dynamic ports from a walk of the node's range over everything held or
// reserved. ok is false when the range has too few free ports; a static port
// taken is left for AllocsFit to find.
func naivePorts(n *structs.Node, allocs []*structs.Allocation, tg *structs.TaskGroup) (structs.AllocatedPorts, bool) {
	taken := map[int]bool{}
	reserved, _ := n.ReservedPorts()
	for _, p := range reserved {
		taken[p] = true
	}
	for _, a := range allocs {
		if !a.TerminalStatus() && a.AllocatedResources != nil {
			for _, p := range a.AllocatedResources.Shared.Ports {
				taken[p.Value] = true
			}
		}
	}
	var out structs.AllocatedPorts
	for _, nw := range tg.Networks {
		for _, p := range nw.ReservedPorts {
			out = append(out, structs.AllocatedPortMapping{Label: p.Label, Value: p.Value})
		}
	}
	for _, p := range out {
		taken[p.Value] = true
	}
	lo, hi := n.DynamicPortRange()
	port := lo
	for _, nw := range tg.Networks {
		for _, p := range nw.DynamicPorts {
			for port <= hi && taken[port] {
				port++
			}
			if port > hi {
				return nil, false
			}
			out = append(out, structs.AllocatedPortMapping{Label: p.Label, Value: port})
			port++
		}
	}
	return out, true
}

// checkNoDoubleBookedPorts checks, without AllocsFit, that no two live
// allocations on a node hold the same host port, none holds a port the node
// reserves, and every dynamic port is within the node's range.
func checkNoDoubleBookedPorts(t *testing.T, snap State, event string) {
	t.Helper()
	for _, n := range snap.Nodes("") {
		holder := map[int]string{}
		reserved, _ := n.ReservedPorts()
		for _, p := range reserved {
			holder[p] = "the node's reservation"
		}
		lo, hi := n.DynamicPortRange()
		for _, a := range snap.AllocsByNode(n.ID) {
			if a.TerminalStatus() || a.AllocatedResources == nil {
				continue
			}
			tg := a.Job.LookupTaskGroup(a.TaskGroup)
			for _, p := range a.AllocatedResources.Shared.Ports {
				if other, taken := holder[p.Value]; taken {
					t.Fatalf("%s: node %s: port %d of %s is also held by %s", event, n.Name, p.Value, a.Name, other)
				}
				holder[p.Value] = a.Name
				static := false
				for _, nw := range tg.Networks {
					for _, s := range nw.ReservedPorts {
						static = static || s.Label == p.Label
					}
				}
				if !static && (p.Value < lo || p.Value > hi) {
					t.Fatalf("%s: node %s: dynamic port %s=%d of %s outside %d-%d", event, n.Name, p.Label, p.Value, a.Name, lo, hi)
				}
			}
		}
	}
}
