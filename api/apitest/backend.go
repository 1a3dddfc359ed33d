package apitest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orch-io/orch/structs"
)

// DefaultLeader is the leader RPC address a new Backend reports.
const DefaultLeader = "127.0.0.1:4647"

// defaultMaxQueryTime is what a blocking query waits when it names no wait.
const defaultMaxQueryTime = 5 * time.Minute

// Backend is an in-memory cluster that answers the agent's in-process RPC
// methods (see structs/rpc.go) the way a server would, closely enough for the
// HTTP API and its consumers to be tested. Every write bumps one global index;
// reads with MinQueryIndex block until that index passes it.
//
// All methods are safe for concurrent use. Objects passed in are copied;
// objects handed out are copies the caller owns.
type Backend struct {
	mu struct {
		sync.Mutex
		index uint64
		// changed is closed and replaced at every write, waking blocking queries.
		changed chan struct{}

		jobs   map[string]*structs.Job
		nodes  map[string]*structs.Node
		allocs map[string]*structs.Allocation
		evals  map[string]*structs.Evaluation

		leader  string
		members *structs.AgentMembersResponse
		health  *structs.AgentHealthResponse

		failures map[string]error
		queries  map[string]structs.QueryOptions
		onEval   func(job *structs.Job, eval *structs.Evaluation)
		onPlan   func(req *structs.JobPlanRequest, reply *structs.JobPlanResponse)
	}
}

// NewBackend returns an empty cluster with a leader, one alive server member
// and a healthy agent.
func NewBackend() *Backend {
	b := &Backend{}
	b.mu.index = 1
	b.mu.changed = make(chan struct{})
	b.mu.jobs = map[string]*structs.Job{}
	b.mu.nodes = map[string]*structs.Node{}
	b.mu.allocs = map[string]*structs.Allocation{}
	b.mu.evals = map[string]*structs.Evaluation{}
	b.mu.leader = DefaultLeader
	b.mu.members = &structs.AgentMembersResponse{
		ServerName: "server-1.global", ServerRegion: "global", ServerDC: "dc1",
		Members: []*structs.AgentMember{{
			Name: "server-1.global", Addr: "127.0.0.1", Port: 4648, Status: "alive",
			Tags: map[string]string{"role": "server", "dc": "dc1", "region": "global",
				"rpc_addr": DefaultLeader, "leader": "true", "version": "dev"},
		}},
	}
	b.mu.health = &structs.AgentHealthResponse{
		Server: &structs.AgentHealth{Ok: true, Message: "ok"},
		Client: &structs.AgentHealth{Ok: true, Message: "ok"},
	}
	b.mu.failures = map[string]error{}
	b.mu.queries = map[string]structs.QueryOptions{}
	return b
}

// Members returns the gossip members (a copy).
func (b *Backend) Members() *structs.AgentMembersResponse {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.members == nil {
		return nil
	}
	c := *b.mu.members
	c.Members = slices.Clone(c.Members)
	return &c
}

// Health returns the agent's health (a copy).
func (b *Backend) Health() *structs.AgentHealthResponse {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.health == nil {
		return nil
	}
	c := *b.mu.health
	return &c
}

// SetLeader sets the leader address; "" means no leader: every RPC except
// Status.Leader and stale reads then fails with structs.ErrNoLeader.
func (b *Backend) SetLeader(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mu.leader = addr
}

// SetMembers replaces the gossip members.
func (b *Backend) SetMembers(m *structs.AgentMembersResponse) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mu.members = m
}

// SetHealth replaces the agent's health.
func (b *Backend) SetHealth(h *structs.AgentHealthResponse) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mu.health = h
}

// FailRPC makes every later call of method fail with err; a nil err clears it.
func (b *Backend) FailRPC(method string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		delete(b.mu.failures, method)
		return
	}
	b.mu.failures[method] = err
}

// OnEval sets fn to run after each Job.Register and Job.Deregister, with
// copies of the job (as it was before a purge) and of the evaluation the call
// created: the place for a test to play the scheduler. fn runs on the RPC's
// goroutine before the RPC answers, without the Backend's lock, so it may
// call the Upsert methods, or start a goroutine that changes state later.
func (b *Backend) OnEval(fn func(job *structs.Job, eval *structs.Evaluation)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mu.onEval = fn
}

// OnPlan sets fn to answer Job.Plan, playing the scheduler: the Backend
// fills JobModifyIndex (the stored job's) and, when asked, the diff against
// the stored job (structs.DiffJobsContextual); fn adds annotations, failures
// and evaluations, and may change anything. Without fn the plan has no
// annotations. fn runs without the Backend's lock.
func (b *Backend) OnPlan(fn func(req *structs.JobPlanRequest, reply *structs.JobPlanResponse)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mu.onPlan = fn
}

// LastQuery returns the QueryOptions of the last call of method, so tests can
// check how the HTTP layer translated query parameters.
func (b *Backend) LastQuery(method string) (structs.QueryOptions, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.mu.queries[method]
	return q, ok
}

// Index returns the current index.
func (b *Backend) Index() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.index
}

// Job returns a copy of the job stored under id, or nil.
func (b *Backend) Job(id string) *structs.Job {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.jobs[id].Copy()
}

// UpsertJob stores a copy of job as is (no canonicalization, no evaluation)
// and returns the index of the write.
func (b *Backend) UpsertJob(job *structs.Job) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	idx := b.bumpLocked()
	c := job.Copy()
	if c.CreateIndex == 0 {
		c.CreateIndex = idx
	}
	c.ModifyIndex = idx
	if c.JobModifyIndex == 0 {
		c.JobModifyIndex = idx
	}
	b.mu.jobs[c.ID] = c
	return idx
}

// UpsertNode stores a copy of node and returns the index of the write.
func (b *Backend) UpsertNode(node *structs.Node) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	idx := b.bumpLocked()
	c := node.Copy()
	if c.CreateIndex == 0 {
		c.CreateIndex = idx
	}
	c.ModifyIndex = idx
	b.mu.nodes[c.ID] = c
	return idx
}

// UpsertAlloc stores a copy of alloc and returns the index of the write. An
// allocation without a Job gets the stored job of its JobID.
func (b *Backend) UpsertAlloc(alloc *structs.Allocation) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	idx := b.bumpLocked()
	c := alloc.Copy()
	if c.Job == nil {
		c.Job = b.mu.jobs[c.JobID].Copy()
	}
	if c.CreateIndex == 0 {
		c.CreateIndex = idx
	}
	c.ModifyIndex = idx
	b.mu.allocs[c.ID] = c
	return idx
}

// UpsertEval stores a copy of eval and returns the index of the write.
func (b *Backend) UpsertEval(eval *structs.Evaluation) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	idx := b.bumpLocked()
	c := eval.Copy()
	if c.CreateIndex == 0 {
		c.CreateIndex = idx
	}
	c.ModifyIndex = idx
	b.mu.evals[c.ID] = c
	return idx
}

// Eval returns a copy of the evaluation stored under id, or nil.
func (b *Backend) Eval(id string) *structs.Evaluation {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.evals[id].Copy()
}

// bumpLocked advances the index and wakes blocking queries.
func (b *Backend) bumpLocked() uint64 {
	b.mu.index++
	close(b.mu.changed)
	b.mu.changed = make(chan struct{})
	return b.mu.index
}

// RPC answers method as the servers would. args and reply are the pointer
// types structs/rpc.go lists for method.
func (b *Backend) RPC(_ context.Context, method string, args, reply any) error {
	q, isRead := queryOptionsOf(args)
	b.mu.Lock()
	if isRead {
		b.mu.queries[method] = q
	}
	failure := b.mu.failures[method]
	noLeader := b.mu.leader == "" && method != "Status.Leader" && !(isRead && q.AllowStale)
	b.mu.Unlock()
	if failure != nil {
		return failure
	}
	if noLeader {
		return structs.NewError(structs.CodeNoLeader, "no cluster leader")
	}
	if isRead {
		b.block(q)
	}
	switch method {
	case "Job.Register":
		return b.register(args.(*structs.JobRegisterRequest), reply.(*structs.JobRegisterResponse))
	case "Job.Deregister":
		return b.deregister(args.(*structs.JobDeregisterRequest), reply.(*structs.JobDeregisterResponse))
	case "Job.Plan":
		return b.plan(args.(*structs.JobPlanRequest), reply.(*structs.JobPlanResponse))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	meta := structs.QueryMeta{Index: b.mu.index, KnownLeader: b.mu.leader != ""}
	switch method {
	case "Job.GetJob":
		r := reply.(*structs.SingleJobResponse)
		r.Job, r.QueryMeta = b.mu.jobs[args.(*structs.JobSpecificRequest).JobID].Copy(), meta
	case "Job.List":
		r := reply.(*structs.JobListResponse)
		r.Jobs, r.QueryMeta = []*structs.JobListStub{}, meta
		for _, id := range sortedKeys(b.mu.jobs, q.Prefix) {
			r.Jobs = append(r.Jobs, b.mu.jobs[id].Stub())
		}
	case "Job.Allocations":
		r := reply.(*structs.JobAllocationsResponse)
		jobID := args.(*structs.JobSpecificRequest).JobID
		r.Allocations, r.QueryMeta = []*structs.AllocListStub{}, meta
		for _, id := range sortedKeys(b.mu.allocs, "") {
			if a := b.mu.allocs[id]; a.JobID == jobID {
				r.Allocations = append(r.Allocations, a.Stub())
			}
		}
	case "Job.Evaluations":
		r := reply.(*structs.JobEvaluationsResponse)
		jobID := args.(*structs.JobSpecificRequest).JobID
		r.Evaluations, r.QueryMeta = []*structs.Evaluation{}, meta
		for _, id := range sortedKeys(b.mu.evals, "") {
			if e := b.mu.evals[id]; e.JobID == jobID {
				r.Evaluations = append(r.Evaluations, e.Copy())
			}
		}
	case "Node.GetNode":
		r := reply.(*structs.SingleNodeResponse)
		r.Node, r.QueryMeta = b.mu.nodes[args.(*structs.NodeSpecificRequest).NodeID].Copy(), meta
	case "Node.List":
		r := reply.(*structs.NodeListResponse)
		r.Nodes, r.QueryMeta = []*structs.NodeListStub{}, meta
		for _, id := range sortedKeys(b.mu.nodes, q.Prefix) {
			r.Nodes = append(r.Nodes, b.mu.nodes[id].Stub())
		}
	case "Alloc.GetAlloc":
		r := reply.(*structs.SingleAllocResponse)
		r.Alloc, r.QueryMeta = b.mu.allocs[args.(*structs.AllocSpecificRequest).AllocID].Copy(), meta
	case "Alloc.List":
		r := reply.(*structs.AllocListResponse)
		r.Allocations, r.QueryMeta = []*structs.AllocListStub{}, meta
		for _, id := range sortedKeys(b.mu.allocs, q.Prefix) {
			r.Allocations = append(r.Allocations, b.mu.allocs[id].Stub())
		}
	case "Eval.GetEval":
		r := reply.(*structs.SingleEvalResponse)
		r.Eval, r.QueryMeta = b.mu.evals[args.(*structs.EvalSpecificRequest).EvalID].Copy(), meta
	case "Eval.List":
		r := reply.(*structs.EvalListResponse)
		r.Evaluations, r.QueryMeta = []*structs.Evaluation{}, meta
		for _, id := range sortedKeys(b.mu.evals, q.Prefix) {
			r.Evaluations = append(r.Evaluations, b.mu.evals[id].Copy())
		}
	case "Status.Leader":
		*reply.(*string) = b.mu.leader
	default:
		return structs.NewError(structs.CodeInvalid, "unknown RPC method %q", method)
	}
	return nil
}

// block waits, for a blocking query, until the index passes q.MinQueryIndex or
// q.MaxQueryTime passes.
func (b *Backend) block(q structs.QueryOptions) {
	if q.MinQueryIndex == 0 {
		return
	}
	wait := q.MaxQueryTime
	if wait <= 0 {
		wait = defaultMaxQueryTime
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		b.mu.Lock()
		idx, changed := b.mu.index, b.mu.changed
		b.mu.Unlock()
		if idx > q.MinQueryIndex {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			return
		}
	}
}

// register stores the job and a pending evaluation for it. Validation errors
// come back as "invalid job: ...", the convention the HTTP API maps to 400.
func (b *Backend) register(req *structs.JobRegisterRequest, reply *structs.JobRegisterResponse) error {
	if req.Job == nil {
		return structs.NewError(structs.CodeInvalid, "invalid job: missing job")
	}
	job := req.Job.Copy()
	job.Canonicalize()
	if err := job.Validate(); err != nil {
		return structs.NewError(structs.CodeInvalid, "invalid job: %w", err)
	}
	if job.ID == "" {
		return structs.NewError(structs.CodeInvalid, "invalid job: missing job ID")
	}
	b.mu.Lock()
	if req.EnforceIndex {
		old := b.mu.jobs[job.ID]
		switch {
		case old == nil && req.JobModifyIndex != 0:
			b.mu.Unlock()
			return structs.NewError(structs.CodeConflict, "enforcing job modify index %d: job %q does not exist", req.JobModifyIndex, job.ID)
		case old != nil && old.JobModifyIndex != req.JobModifyIndex:
			b.mu.Unlock()
			return structs.NewError(structs.CodeConflict, "enforcing job modify index %d: job %q exists with index %d", req.JobModifyIndex, job.ID, old.JobModifyIndex)
		}
	}
	idx := b.bumpLocked()
	if old := b.mu.jobs[job.ID]; old != nil {
		job.Version = old.Version + 1
		job.CreateIndex = old.CreateIndex
	} else {
		job.CreateIndex = idx
	}
	now := time.Now().UnixNano()
	job.ModifyIndex, job.JobModifyIndex, job.SubmitTime = idx, idx, now
	job.Stop = false
	job.Status = structs.JobStatusPending
	eval := &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: job.Namespace, Priority: job.Priority, Type: job.Type,
		TriggeredBy: structs.EvalTriggerJobRegister, JobID: job.ID, JobModifyIndex: idx,
		Status: structs.EvalStatusPending, CreateIndex: idx, ModifyIndex: idx, CreateTime: now, ModifyTime: now,
	}
	b.mu.jobs[job.ID] = job
	b.mu.evals[eval.ID] = eval
	hook := b.mu.onEval
	jobCopy, evalCopy := job.Copy(), eval.Copy()
	b.mu.Unlock()

	if hook != nil {
		hook(jobCopy, evalCopy)
	}
	reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = eval.ID, idx, idx, idx
	return nil
}

// plan answers a dry run: it validates like register, changes nothing, and
// leaves the scheduler's part to the OnPlan hook.
func (b *Backend) plan(req *structs.JobPlanRequest, reply *structs.JobPlanResponse) error {
	if req.Job == nil {
		return structs.NewError(structs.CodeInvalid, "invalid job: missing job")
	}
	job := req.Job.Copy()
	job.Canonicalize()
	if err := job.Validate(); err != nil {
		return structs.NewError(structs.CodeInvalid, "invalid job: %w", err)
	}
	b.mu.Lock()
	old := b.mu.jobs[job.ID].Copy()
	idx, hook := b.mu.index, b.mu.onPlan
	b.mu.Unlock()
	if old != nil {
		reply.JobModifyIndex = old.JobModifyIndex
	}
	if req.Diff {
		d, err := structs.DiffJobsContextual(old, job)
		if err != nil {
			return err
		}
		reply.Diff = d
	}
	reply.Index = idx
	if hook != nil {
		hook(req, reply)
	}
	return nil
}

// deregister stops (or purges) the job and creates an evaluation for it.
func (b *Backend) deregister(req *structs.JobDeregisterRequest, reply *structs.JobDeregisterResponse) error {
	b.mu.Lock()
	job := b.mu.jobs[req.JobID]
	if job == nil {
		b.mu.Unlock()
		return structs.NewError(structs.CodeNotFound, "job %q not found", req.JobID)
	}
	idx := b.bumpLocked()
	if req.Purge {
		delete(b.mu.jobs, req.JobID)
	} else {
		job = job.Copy()
		job.Stop = true
		job.Status = structs.JobStatusDead
		job.ModifyIndex, job.JobModifyIndex = idx, idx
		b.mu.jobs[job.ID] = job
	}
	now := time.Now().UnixNano()
	eval := &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: job.Namespace, Priority: job.Priority, Type: job.Type,
		TriggeredBy: structs.EvalTriggerJobDeregister, JobID: job.ID, JobModifyIndex: idx,
		Status: structs.EvalStatusPending, CreateIndex: idx, ModifyIndex: idx, CreateTime: now, ModifyTime: now,
	}
	b.mu.evals[eval.ID] = eval
	hook := b.mu.onEval
	jobCopy, evalCopy := job.Copy(), eval.Copy()
	b.mu.Unlock()

	if hook != nil {
		hook(jobCopy, evalCopy)
	}
	reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = eval.ID, idx, idx, idx
	return nil
}

// queryOptionsOf returns the QueryOptions of a read request, and whether args is one.
func queryOptionsOf(args any) (structs.QueryOptions, bool) {
	switch a := args.(type) {
	case *structs.GenericRequest:
		return a.QueryOptions, true
	case *structs.JobSpecificRequest:
		return a.QueryOptions, true
	case *structs.JobListRequest:
		return a.QueryOptions, true
	case *structs.NodeSpecificRequest:
		return a.QueryOptions, true
	case *structs.NodeListRequest:
		return a.QueryOptions, true
	case *structs.AllocSpecificRequest:
		return a.QueryOptions, true
	case *structs.AllocListRequest:
		return a.QueryOptions, true
	case *structs.EvalSpecificRequest:
		return a.QueryOptions, true
	case *structs.EvalListRequest:
		return a.QueryOptions, true
	}
	return structs.QueryOptions{}, false
}

// sortedKeys returns the keys of m that start with prefix, sorted.
func sortedKeys[V any](m map[string]V, prefix string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
