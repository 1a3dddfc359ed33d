package state

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/orch-io/orch/structs"
)

func testRegistration(a *structs.Allocation, service string) *structs.ServiceRegistration {
	return &structs.ServiceRegistration{
		ID:          structs.ServiceRegistrationID(a.ID, "group-web", service, "http"),
		ServiceName: service, Namespace: structs.DefaultNamespace, NodeID: a.NodeID, Datacenter: "dc1",
		JobID: a.JobID, AllocID: a.ID, Address: "127.0.0.1", Port: 8080, Tags: []string{"v1"},
	}
}

// checkRegistryInvariant fails the test when some instance belongs to an
// allocation that is unknown or terminal, or to a node that is down.
func checkRegistryInvariant(t *testing.T, s *StateStore, step string) {
	t.Helper()
	snap := s.Snapshot()
	for _, r := range snap.ServiceRegistrations() {
		a := snap.AllocByID(r.AllocID)
		switch {
		case a == nil:
			t.Fatalf("%s: instance %s of an unknown allocation", step, r.ID)
		case a.TerminalStatus():
			t.Fatalf("%s: instance %s outlives its allocation (desired %s, client %s)", step, r.ID, a.DesiredStatus, a.ClientStatus)
		}
		if n := snap.NodeByID(r.NodeID); n == nil || n.Status == structs.NodeStatusDown {
			t.Fatalf("%s: instance %s on a node that is down or unknown", step, r.ID)
		}
	}
}

// Property: whatever the order of registrations, client updates, stops and
// node failures, no instance survives the entry that made its allocation
// terminal or its node down, and an upsert for a live allocation is kept.
func TestRegistryNeverOutlivesItsAllocation(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			s := NewStateStore()
			job := testJob("web")
			index := uint64(1)
			next := func() uint64 { index++; return index }
			must(t, s.UpsertJob(next(), job))
			nodes := []string{"n1", "n2", "n3"}
			for _, n := range nodes {
				must(t, s.UpsertNode(next(), &structs.Node{ID: n, Status: structs.NodeStatusReady}))
			}
			var allocs []*structs.Allocation
			for step := 0; step < 200; step++ {
				name := fmt.Sprintf("step %d", step)
				switch op := rng.IntN(7); {
				case op == 0 || len(allocs) == 0:
					a := testAlloc(job, nodes[rng.IntN(len(nodes))])
					allocs = append(allocs, a)
					must(t, s.UpsertPlanResults(next(), job, []*structs.Allocation{a.Copy()}))
				case op <= 2: // a client registers, or re-registers, an instance
					a := allocs[rng.IntN(len(allocs))]
					r := testRegistration(a, []string{"api", "db"}[rng.IntN(2)])
					var dropped int
					w := s.Begin(next())
					dropped, err := w.UpsertServiceRegistrations([]*structs.ServiceRegistration{r})
					must(t, err)
					must(t, w.Commit())
					cur := s.AllocByID(a.ID)
					node := s.NodeByID(a.NodeID)
					live := !cur.TerminalStatus() && node.Status != structs.NodeStatusDown
					if live != (dropped == 0) {
						t.Fatalf("%s: upsert for an allocation live=%v dropped %d", name, live, dropped)
					}
				case op == 3: // the client reports an end
					a := allocs[rng.IntN(len(allocs))]
					status := []structs.AllocClientStatus{structs.AllocClientStatusRunning, structs.AllocClientStatusComplete, structs.AllocClientStatusFailed}[rng.IntN(3)]
					must(t, s.UpdateAllocsFromClient(next(), []*structs.Allocation{{ID: a.ID, ClientStatus: status}}))
				case op == 4: // the scheduler stops it
					a := allocs[rng.IntN(len(allocs))]
					must(t, s.UpsertPlanResults(next(), nil, []*structs.Allocation{{ID: a.ID, NodeID: a.NodeID, JobID: a.JobID,
						DesiredStatus: structs.AllocDesiredStatusStop, DesiredDescription: "stop"}}))
				case op == 5: // a node goes down or comes back
					status := []structs.NodeStatus{structs.NodeStatusDown, structs.NodeStatusReady}[rng.IntN(2)]
					must(t, s.UpdateNodeStatus(next(), nodes[rng.IntN(len(nodes))], status, 0))
				default: // someone deletes an instance
					regs := s.Snapshot().ServiceRegistrations()
					if len(regs) > 0 {
						w := s.Begin(next())
						must(t, w.DeleteServiceRegistrations([]string{regs[rng.IntN(len(regs))].ID}))
						must(t, w.Commit())
					}
				}
				checkRegistryInvariant(t, s, name)
			}
		})
	}
}

func TestRegistryUpsertKeepsIndexesOfUnchangedInstances(t *testing.T) {
	s := NewStateStore()
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertNode(2, &structs.Node{ID: "n1", Status: structs.NodeStatusReady}))
	a := testAlloc(job, "n1")
	must(t, s.UpsertPlanResults(3, job, []*structs.Allocation{a}))
	upsert := func(index uint64, r *structs.ServiceRegistration) {
		w := s.Begin(index)
		_, err := w.UpsertServiceRegistrations([]*structs.ServiceRegistration{r})
		must(t, err)
		must(t, w.Commit())
	}
	upsert(4, testRegistration(a, "api"))
	upsert(5, testRegistration(a, "api"))
	snap := s.Snapshot()
	if got := snap.Index(TableServiceRegistrations); got != 4 {
		t.Fatalf("table index after an unchanged upsert = %d, want 4", got)
	}
	moved := testRegistration(a, "api")
	moved.Port = 9090
	upsert(6, moved)
	got := s.Snapshot().ServiceRegistrationsByName(structs.DefaultNamespace, "api")
	if len(got) != 1 || got[0].Port != 9090 || got[0].CreateIndex != 4 || got[0].ModifyIndex != 6 {
		t.Fatalf("after a change: %+v", got)
	}

	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := NewStateStore()
	must(t, r.Restore(&buf))
	if got := r.Snapshot().ServiceRegistrationsByAlloc(a.ID); len(got) != 1 || got[0].ModifyIndex != 6 {
		t.Fatalf("restored: %+v", got)
	}
	if r.Snapshot().Index(TableServiceRegistrations) != 6 {
		t.Fatal("restore lost the registry's index")
	}
}
