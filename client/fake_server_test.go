package client

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// fakeServer is an in-memory stand-in for the servers' Node endpoints, with
// just enough behaviour for the client: registration, heartbeats, a blocking
// query on a node's allocations, client status updates. It exists because the
// real server (package server) is being written in parallel, and because the
// client must never import it; the end-to-end tests of e2e/ run the two
// together.
//
// Like the real state store, it never modifies a stored object: every change
// stores a new copy, and what it hands out is shared and read-only, so the race
// detector catches a client that modifies what it receives.
type fakeServer struct {
	ttl time.Duration

	mu         sync.Mutex
	index      uint64
	changed    chan struct{} // closed and replaced on every change
	closed     chan struct{}
	nodes      map[string]*structs.Node
	allocs     map[string]*structs.Allocation
	registers  int
	heartbeats []time.Time
	updates    int
	queries    []uint64 // MinQueryIndex of every GetClientAllocs, in order
	fetches    []string // the IDs every Alloc.GetAllocs asked for, in order
}

func newFakeServer(t *testing.T, ttl time.Duration) *fakeServer {
	f := &fakeServer{
		ttl:     ttl,
		index:   1,
		changed: make(chan struct{}),
		closed:  make(chan struct{}),
		nodes:   make(map[string]*structs.Node),
		allocs:  make(map[string]*structs.Allocation),
	}
	t.Cleanup(func() { close(f.closed) })
	return f
}

// RPC implements RPCer.
func (f *fakeServer) RPC(ctx context.Context, method string, args, reply any) error {
	switch method {
	case "Node.Register":
		return f.register(args.(*structs.NodeRegisterRequest), reply.(*structs.NodeUpdateResponse))
	case "Node.UpdateStatus":
		return f.updateStatus(args.(*structs.NodeUpdateStatusRequest), reply.(*structs.NodeUpdateResponse))
	case "Node.GetClientAllocs":
		return f.getClientAllocs(ctx, args.(*structs.NodeSpecificRequest), reply.(*structs.NodeClientAllocsResponse))
	case "Alloc.GetAllocs":
		return f.getAllocs(args.(*structs.AllocsGetRequest), reply.(*structs.AllocsGetResponse))
	case "Node.UpdateAlloc":
		return f.updateAlloc(args.(*structs.AllocUpdateRequest), reply.(*structs.GenericResponse))
	}
	return structs.NewError(structs.CodeInvalid, "unknown RPC method %q", method)
}

// bumpLocked moves the index on and wakes blocking queries.
func (f *fakeServer) bumpLocked() uint64 {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
	return f.index
}

func (f *fakeServer) register(req *structs.NodeRegisterRequest, resp *structs.NodeUpdateResponse) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Node == nil || req.Node.ID == "" || req.Node.SecretID == "" {
		return fmt.Errorf("node register: missing node ID or secret")
	}
	if old := f.nodes[req.Node.ID]; old != nil && old.SecretID != req.Node.SecretID {
		return structs.ErrPermissionDenied
	}
	f.nodes[req.Node.ID] = req.Node.Copy()
	f.registers++
	resp.HeartbeatTTL = f.ttl
	resp.WriteMeta.Index = f.bumpLocked()
	return nil
}

func (f *fakeServer) updateStatus(req *structs.NodeUpdateStatusRequest, resp *structs.NodeUpdateResponse) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nodes[req.NodeID]
	if n == nil {
		return structs.NewError(structs.CodeNotFound, "node %s not found", req.NodeID)
	}
	if n.SecretID != req.SecretID {
		return structs.ErrPermissionDenied
	}
	f.heartbeats = append(f.heartbeats, time.Now())
	resp.HeartbeatTTL = f.ttl
	return nil
}

func (f *fakeServer) getClientAllocs(ctx context.Context, req *structs.NodeSpecificRequest, resp *structs.NodeClientAllocsResponse) error {
	deadline := time.NewTimer(req.MaxQueryTime)
	defer deadline.Stop()
	f.mu.Lock()
	f.queries = append(f.queries, req.MinQueryIndex)
	for {
		if n := f.nodes[req.NodeID]; n == nil || n.SecretID != req.SecretID {
			f.mu.Unlock()
			return structs.NewError(structs.CodeNotFound, "node %s not found", req.NodeID)
		}
		if req.MinQueryIndex < f.index {
			break
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			f.mu.Lock()
			resp.Allocs = f.allocsOfLocked(req.NodeID)
			resp.Index = f.index
			f.mu.Unlock()
			return nil
		case <-f.closed:
			return fmt.Errorf("server shut down")
		case <-ctx.Done():
			return ctx.Err()
		}
		f.mu.Lock()
	}
	resp.Allocs = f.allocsOfLocked(req.NodeID)
	resp.Index = f.index
	f.mu.Unlock()
	return nil
}

// allocsOfLocked is the GetClientAllocs answer: the node's allocations by
// ID, each with its AllocModifyIndex.
func (f *fakeServer) allocsOfLocked(nodeID string) map[string]uint64 {
	out := map[string]uint64{}
	for _, a := range f.allocs {
		if a.NodeID == nodeID {
			out[a.ID] = a.AllocModifyIndex
		}
	}
	return out
}

// getAllocs answers Alloc.GetAllocs as the servers do: the allocations that
// exist, each job once.
func (f *fakeServer) getAllocs(req *structs.AllocsGetRequest, resp *structs.AllocsGetResponse) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetches = append(f.fetches, req.AllocIDs...)
	refs := map[*structs.Job]int{}
	for _, id := range req.AllocIDs {
		a := f.allocs[id]
		if a == nil {
			continue
		}
		ref, ok := refs[a.Job]
		if !ok {
			ref = len(resp.Jobs)
			refs[a.Job] = ref
			resp.Jobs = append(resp.Jobs, a.Job) // shared: the client must copy
		}
		c := *a
		c.Job = nil
		resp.Allocs = append(resp.Allocs, &c)
		resp.JobRefs = append(resp.JobRefs, ref)
	}
	resp.Index = f.index
	return nil
}

// fetched returns the IDs the client fetched with Alloc.GetAllocs so far.
func (f *fakeServer) fetched() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.fetches)
}

func (f *fakeServer) updateAlloc(req *structs.AllocUpdateRequest, resp *structs.GenericResponse) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates++
	idx := f.bumpLocked()
	for _, u := range req.Alloc {
		cur := f.allocs[u.ID]
		if cur == nil {
			continue
		}
		a := cur.Copy()
		a.ClientStatus = u.ClientStatus
		a.ClientDescription = u.ClientDescription
		a.TaskStates = u.TaskStates
		a.ModifyIndex = idx
		f.allocs[a.ID] = a
	}
	resp.Index = idx
	return nil
}

// Test controls.

// addAlloc places a new allocation of job on node, as the scheduler would.
func (f *fakeServer) addAlloc(nodeID string, job *structs.Job, index int) *structs.Allocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	idx := f.bumpLocked()
	a := &structs.Allocation{
		ID: structs.GenerateUUID(), Namespace: job.Namespace, EvalID: structs.GenerateUUID(),
		Name: structs.AllocName(job.ID, job.TaskGroups[0].Name, index), NodeID: nodeID,
		JobID: job.ID, Job: job, TaskGroup: job.TaskGroups[0].Name,
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
		CreateIndex: idx, ModifyIndex: idx, AllocModifyIndex: idx,
	}
	f.allocs[a.ID] = a
	return a.Copy()
}

// stopAlloc sets an allocation's desired status to stop.
func (f *fakeServer) stopAlloc(id string) {
	f.setDesired(id, structs.AllocDesiredStatusStop, "alloc is being stopped by a test")
}

// evictAlloc sets an allocation's desired status to evict, as a preemption does.
func (f *fakeServer) evictAlloc(id, by string) {
	f.setDesired(id, structs.AllocDesiredStatusEvict, "preempted by alloc ID "+by)
}

func (f *fakeServer) setDesired(id string, status structs.AllocDesiredStatus, desc string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	idx := f.bumpLocked()
	a := f.allocs[id].Copy()
	a.DesiredStatus = status
	a.DesiredDescription = desc
	a.ModifyIndex, a.AllocModifyIndex = idx, idx
	f.allocs[id] = a
}

// removeAlloc garbage-collects an allocation.
func (f *fakeServer) removeAlloc(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bumpLocked()
	delete(f.allocs, id)
}

// forgetNode drops a node, as a server that lost its state would.
func (f *fakeServer) forgetNode(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bumpLocked()
	delete(f.nodes, id)
}

func (f *fakeServer) alloc(id string) *structs.Allocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.allocs[id].Copy()
}

func (f *fakeServer) node(id string) *structs.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[id].Copy()
}

func (f *fakeServer) currentIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.index
}

func (f *fakeServer) stats() (registers int, heartbeats []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.registers, append([]time.Time(nil), f.heartbeats...)
}

// queryCount is the number of GetClientAllocs calls so far.
func (f *fakeServer) queryCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queries)
}

// queriedSince reports whether one of the GetClientAllocs calls after the
// first skip had MinQueryIndex >= index: the client that made it has taken in
// everything up to index and waits for more.
func (f *fakeServer) queriedSince(skip int, index uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, q := range f.queries[skip:] {
		if q >= index {
			return true
		}
	}
	return false
}
