package structs

import (
	"time"
)

// The internal RPC interface. The servers register net/rpc services named
// "Job", "Node", "Alloc", "Eval" and "Status" whose methods take the request
// types below and fill the response types; the HTTP API calls the same methods
// in process, and client agents call them over the RPC port. Requests and
// responses are msgpack-encoded (MsgpackHandle).
//
// Methods (argument → reply):
//
//	Job.Register      JobRegisterRequest   → JobRegisterResponse
//	Job.Deregister    JobDeregisterRequest → JobDeregisterResponse
//	Job.GetJob        JobSpecificRequest   → SingleJobResponse
//	Job.List          JobListRequest       → JobListResponse
//	Job.Allocations   JobSpecificRequest   → JobAllocationsResponse
//	Job.Evaluations   JobSpecificRequest   → JobEvaluationsResponse
//	Job.Plan          JobPlanRequest       → JobPlanResponse (a dry run: commits nothing)
//	Job.Summary       JobSpecificRequest   → JobSummaryResponse
//	Job.GetJobVersions JobVersionsRequest  → JobVersionsResponse
//	Job.Revert        JobRevertRequest     → JobRegisterResponse
//	Job.Stable        JobStabilityRequest  → JobStabilityResponse
//	Job.PeriodicForce JobPeriodicForceRequest → JobPeriodicForceResponse
//	Job.Dispatch      JobDispatchRequest   → JobDispatchResponse
//	Job.Scale         JobScaleRequest      → JobRegisterResponse
//	Node.Register     NodeRegisterRequest  → NodeUpdateResponse
//	Node.UpdateStatus NodeUpdateStatusRequest → NodeUpdateResponse   (the heartbeat)
//	Node.GetClientAllocs NodeSpecificRequest → NodeClientAllocsResponse (blocking; IDs and AllocModifyIndex only)
//	Node.UpdateAlloc  AllocUpdateRequest   → GenericResponse
//	Node.GetNode      NodeSpecificRequest  → SingleNodeResponse
//	Node.Allocations  NodeSpecificRequest  → NodeAllocsResponse (the API's; no secret)
//	Node.List         NodeListRequest      → NodeListResponse
//	Alloc.GetAlloc    AllocSpecificRequest → SingleAllocResponse
//	Alloc.GetAllocs   AllocsGetRequest     → AllocsGetResponse (a client's fetch of what changed)
//	Alloc.List        AllocListRequest     → AllocListResponse
//	Eval.GetEval      EvalSpecificRequest  → SingleEvalResponse
//	Eval.List         EvalListRequest      → EvalListResponse
//	Eval.Allocations  EvalSpecificRequest  → JobAllocationsResponse
//	Status.Leader     GenericRequest       → string (the leader's RPC address)
//	Status.RaftStats  GenericRequest       → RaftStatsResponse (answered locally, never forwarded)
//	Status.LeaderGone GenericRequest       → bool (the asked server's leader refuses connections; answered locally)
//	Operator.RaftRemovePeer RaftRemovePeerRequest → GenericResponse
//	Operator.*        Raft membership and snapshots: see structs/operator.go
//
// Every read takes QueryOptions and answers QueryMeta; a read with
// MinQueryIndex > 0 blocks until the data it reads changes past that index or
// MaxQueryTime passes. Every write answers WriteMeta with the Raft index.

// RPC stream types: the first byte a connection sends to the RPC port says what
// the rest of the connection carries.
const (
	RPCTypeRaft      byte = 0x01 // hashicorp/raft's network transport
	RPCTypeMultiplex byte = 0x02 // yamux session; each stream is one msgpack net/rpc connection
	// RPCTypeTLS (Nomad's value) starts a TLS handshake; inside the TLS
	// connection the first byte is again RPCTypeRaft or RPCTypeMultiplex.
	RPCTypeTLS byte = 0x04
)

// Errors that cross the RPC boundary carry a code: see errors.go.

// QueryOptions are common to every read.
type QueryOptions struct {
	Region    string
	Namespace string
	// MinQueryIndex > 0 makes the query blocking: it returns once the index of
	// what it reads exceeds MinQueryIndex, or after MaxQueryTime.
	MinQueryIndex uint64
	MaxQueryTime  time.Duration
	// AllowStale lets a follower answer from its own state.
	AllowStale bool
	// Prefix filters list results by ID prefix.
	Prefix string
	// Forwarded is set by a server that forwards the read to the leader, so
	// that the leader never forwards it again.
	Forwarded bool
	// AuthToken is the caller's credential when ACLs are enabled: an ACL
	// token's secret ID, or a client node's secret ID (see acl.go).
	AuthToken string
	// TraceParent is the W3C trace context of the caller's span, set by a
	// server that forwards the call (internal/tracing), "" when tracing is
	// off: the leader's spans join the caller's trace.
	TraceParent string
}

// QueryMeta is returned by every read.
type QueryMeta struct {
	Index       uint64 // the Raft index of the data returned; pass back as MinQueryIndex
	KnownLeader bool
	LastContact time.Duration
}

// WriteRequest is common to every write.
type WriteRequest struct {
	Region    string
	Namespace string
	// RequestID names one logical write: a caller generates it once and sends
	// it again on every retry, and the servers apply a write with a given ID
	// at most once, answering a retry with the first outcome. Empty: no
	// deduplication (a retry may apply twice).
	RequestID string
	// Forwarded is set by a server that forwards the write to the leader, so
	// that the leader never forwards it again.
	Forwarded bool
	// AuthToken is the caller's credential (see QueryOptions.AuthToken).
	AuthToken string
	// TraceParent: see QueryOptions.TraceParent.
	TraceParent string
}

// RPCInfo is what servers need to know of a request to route it: every
// request embedding QueryOptions or WriteRequest implements it.
type RPCInfo interface {
	IsRead() bool
	AllowStaleRead() bool
	IsForwarded() bool
	SetForwarded()
	// GetRequestID is a write's request ID ("" for reads and for writes whose
	// caller gave none); SetRequestID gives a write one (no-op on reads).
	GetRequestID() string
	SetRequestID(string)
	// RequestNamespace is the namespace the request names ("" when none).
	RequestNamespace() string
	Authenticated
	Traced
}

// Traced is a request that carries a W3C trace context (TraceParent): every
// request embedding QueryOptions or WriteRequest.
type Traced interface {
	GetTraceParent() string
	SetTraceParent(string)
}

// Authenticated is a request that carries a credential: every request
// embedding QueryOptions or WriteRequest.
type Authenticated interface {
	GetAuthToken() string
	SetAuthToken(string)
}

func (q *QueryOptions) IsRead() bool             { return true }
func (q *QueryOptions) AllowStaleRead() bool     { return q.AllowStale }
func (q *QueryOptions) IsForwarded() bool        { return q.Forwarded }
func (q *QueryOptions) SetForwarded()            { q.Forwarded = true }
func (w *WriteRequest) IsRead() bool             { return false }
func (w *WriteRequest) AllowStaleRead() bool     { return false }
func (w *WriteRequest) IsForwarded() bool        { return w.Forwarded }
func (w *WriteRequest) SetForwarded()            { w.Forwarded = true }
func (q *QueryOptions) GetRequestID() string     { return "" }
func (q *QueryOptions) SetRequestID(string)      {}
func (w *WriteRequest) GetRequestID() string     { return w.RequestID }
func (w *WriteRequest) SetRequestID(id string)   { w.RequestID = id }
func (q *QueryOptions) RequestNamespace() string { return q.Namespace }
func (q *QueryOptions) RequestRegion() string    { return q.Region }
func (w *WriteRequest) RequestRegion() string    { return w.Region }
func (w *WriteRequest) RequestNamespace() string { return w.Namespace }
func (q *QueryOptions) GetAuthToken() string     { return q.AuthToken }
func (q *QueryOptions) SetAuthToken(t string)    { q.AuthToken = t }
func (w *WriteRequest) GetAuthToken() string     { return w.AuthToken }
func (w *WriteRequest) SetAuthToken(t string)    { w.AuthToken = t }
func (q *QueryOptions) GetTraceParent() string   { return q.TraceParent }
func (q *QueryOptions) SetTraceParent(t string)  { q.TraceParent = t }
func (w *WriteRequest) GetTraceParent() string   { return w.TraceParent }
func (w *WriteRequest) SetTraceParent(t string)  { w.TraceParent = t }

// QueryOpts returns the options of a read (every request embedding
// QueryOptions has it).
func (q *QueryOptions) QueryOpts() *QueryOptions { return q }

// WriteMeta is returned by every write.
type WriteMeta struct {
	Index uint64 // the Raft index at which the write committed
}

// GenericRequest is for methods that take nothing else.
type GenericRequest struct {
	QueryOptions
}

// GenericResponse is for writes that return nothing else.
type GenericResponse struct {
	WriteMeta
}

// JobRegisterRequest registers (creates or updates) a job.
type JobRegisterRequest struct {
	Job *Job
	// EnforceIndex: register only if the job's JobModifyIndex is JobModifyIndex
	// (0: only if the job does not exist).
	EnforceIndex   bool
	JobModifyIndex uint64
	WriteRequest
}

// JobScaleRequest sets the count of one group of a job (Job.Scale, Nomad's
// PUT /v1/job/:id/scale): the servers register the job again with that
// count alone changed, which Nomad's scale-job capability allows without
// submit-job. The write is checked against JobModifyIndex (0: the job's
// current one), so that a concurrent update is a conflict, never lost.
type JobScaleRequest struct {
	JobID          string
	Group          string
	Count          int
	JobModifyIndex uint64
	WriteRequest
}

// JobRegisterResponse answers a registration.
type JobRegisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	Warnings        string
	WriteMeta
}

// JobDeregisterRequest stops a job; with Purge it also removes it.
type JobDeregisterRequest struct {
	JobID string
	Purge bool
	WriteRequest
}

// JobDeregisterResponse answers a deregistration.
type JobDeregisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	WriteMeta
}

// JobSpecificRequest reads one job, or something of one job.
type JobSpecificRequest struct {
	JobID string
	QueryOptions
}

// JobListRequest lists jobs (QueryOptions.Prefix filters by ID).
type JobListRequest struct {
	QueryOptions
}

// SingleJobResponse carries one job, nil when not found.
type SingleJobResponse struct {
	Job *Job
	QueryMeta
}

// JobListResponse carries job summaries, sorted by ID.
type JobListResponse struct {
	Jobs []*JobListStub
	QueryMeta
}

// JobSummaryResponse carries the summary of one job, nil when the job does
// not exist.
type JobSummaryResponse struct {
	JobSummary *JobSummary
	QueryMeta
}

// JobAllocationsResponse carries the allocations of one job.
type JobAllocationsResponse struct {
	Allocations []*AllocListStub
	QueryMeta
}

// JobEvaluationsResponse carries the evaluations of one job.
type JobEvaluationsResponse struct {
	Evaluations []*Evaluation
	QueryMeta
}

// NodeRegisterRequest registers (or re-registers) a client node.
type NodeRegisterRequest struct {
	Node *Node
	// Session is set by the server the client called (whatever the client
	// sent): the connection the call came in on, named for the leader's
	// heartbeat timers (NodeSessionLostRequest). "" for an in-process call.
	Session string
	WriteRequest
}

// NodeUpdateStatusRequest is the client's heartbeat; Status is normally ready.
type NodeUpdateStatusRequest struct {
	NodeID   string
	SecretID string
	Status   NodeStatus
	// AgentStopping says the client agent is stopping on purpose (a restart,
	// an upgrade) and its tasks keep running: the end of its connection is no
	// sign of failure, and the node keeps a whole TTL to come back.
	AgentStopping bool
	// Session: as NodeRegisterRequest's, set by the server.
	Session string
	WriteRequest
}

// NodeSessionLostRequest is sent on by a server to the leader when a
// connection (Session) that carried the last registration or heartbeat of
// each of NodeIDs closed: the peer closed it, or stopped answering pings.
// Only servers send it.
type NodeSessionLostRequest struct {
	Session string
	NodeIDs []string
	WriteRequest
}

// NodeUpdateResponse answers a registration or heartbeat.
type NodeUpdateResponse struct {
	// HeartbeatTTL is how long the server waits for the next heartbeat before it
	// marks the node down.
	HeartbeatTTL time.Duration
	// Servers lists the RPC addresses of the known servers.
	Servers []string
	WriteMeta
}

// NodeSpecificRequest reads one node, or something of one node.
type NodeSpecificRequest struct {
	NodeID   string
	SecretID string
	QueryOptions
}

// NodeClientAllocsResponse is what a client's alloc watch learns of its
// node's allocations: each one's ID and AllocModifyIndex (the last change the
// servers made to it), so that the client fetches (Alloc.GetAllocs) only the
// allocations it does not know or that changed since it fetched them. The
// answer stays small whatever the allocations and their jobs weigh.
type NodeClientAllocsResponse struct {
	Allocs map[string]uint64
	QueryMeta
}

// NodeAllocsResponse carries every allocation assigned to a node, with its job.
type NodeAllocsResponse struct {
	Allocs []*Allocation
	QueryMeta
}

// AllocUpdateRequest carries client-side status of allocations: ClientStatus,
// ClientDescription and TaskStates are taken; everything else is ignored.
type AllocUpdateRequest struct {
	Alloc []*Allocation
	WriteRequest
}

// SingleNodeResponse carries one node, nil when not found.
type SingleNodeResponse struct {
	Node *Node
	QueryMeta
}

// NodeListRequest lists nodes (QueryOptions.Prefix filters by ID).
type NodeListRequest struct {
	QueryOptions
}

// NodeListResponse carries node summaries, sorted by ID.
type NodeListResponse struct {
	Nodes []*NodeListStub
	QueryMeta
}

// AllocSpecificRequest reads one allocation.
type AllocSpecificRequest struct {
	AllocID string
	QueryOptions
}

// SingleAllocResponse carries one allocation, nil when not found.
type SingleAllocResponse struct {
	Alloc *Allocation
	QueryMeta
}

// MaxAllocsGet bounds the allocations one Alloc.GetAllocs asks for.
const MaxAllocsGet = 10_000

// AllocsGetRequest reads the allocations of the given IDs (at most
// MaxAllocsGet). A client sets MinQueryIndex to the index of the
// Node.GetClientAllocs answer it acts on, minus one, so that no server
// answers from a state older than that answer.
type AllocsGetRequest struct {
	AllocIDs []string
	QueryOptions
}

// AllocsGetResponse carries the allocations asked for that exist, in the
// order asked, without their placement metrics (Metrics is nil: what a
// client runs does not need them). Each job version travels once:
// Allocs[i].Job is nil and JobRefs[i] indexes Jobs (-1: the allocation has
// no job). Call Resolve before using the allocations.
type AllocsGetResponse struct {
	Allocs  []*Allocation
	Jobs    []*Job
	JobRefs []int
	QueryMeta
}

// Resolve gives each allocation its job back and checks that every
// reference is in range; the response then owns the allocations.
func (r *AllocsGetResponse) Resolve() error {
	if len(r.JobRefs) != len(r.Allocs) {
		return NewError(CodeInternal, "allocations answer: %d job references for %d allocations", len(r.JobRefs), len(r.Allocs))
	}
	for i, a := range r.Allocs {
		ref := r.JobRefs[i]
		switch {
		case a == nil:
			return NewError(CodeInternal, "allocations answer: allocation %d is nil", i)
		case ref == -1:
			a.Job = nil
		case ref < 0 || ref >= len(r.Jobs):
			return NewError(CodeInternal, "allocations answer: allocation %s: job reference %d: not in 0..%d", a.ID, ref, len(r.Jobs)-1)
		default:
			a.Job = r.Jobs[ref]
		}
	}
	return nil
}

// AllocListRequest lists allocations (QueryOptions.Prefix filters by ID).
type AllocListRequest struct {
	QueryOptions
}

// AllocListResponse carries allocation summaries, sorted by ID.
type AllocListResponse struct {
	Allocations []*AllocListStub
	QueryMeta
}

// EvalSpecificRequest reads one evaluation.
type EvalSpecificRequest struct {
	EvalID string
	QueryOptions
}

// SingleEvalResponse carries one evaluation, nil when not found.
type SingleEvalResponse struct {
	Eval *Evaluation
	QueryMeta
}

// EvalListRequest lists evaluations (QueryOptions.Prefix filters by ID).
type EvalListRequest struct {
	QueryOptions
}

// EvalListResponse carries evaluations, sorted by ID.
type EvalListResponse struct {
	Evaluations []*Evaluation
	QueryMeta
}

// JobPlanRequest asks what registering Job would do, without doing it: the
// scheduler runs against a snapshot and nothing is committed.
type JobPlanRequest struct {
	Job  *Job
	Diff bool // also return the field-level diff against the stored job
	WriteRequest
}

// JobPlanResponse is the outcome of a dry run.
type JobPlanResponse struct {
	// Annotations count, per group, what the scheduler would change.
	Annotations *PlanAnnotations
	// FailedTGAllocs holds, per group, why allocations could not be placed.
	FailedTGAllocs map[string]*AllocMetric
	// JobModifyIndex is the stored job's (0 when it does not exist yet): the
	// value to pass to `job run -check-index`.
	JobModifyIndex uint64
	// CreatedEvals are the evaluations the scheduler would create (a blocked
	// one for what it could not place).
	CreatedEvals []*Evaluation
	// Diff is the contextual diff (structs.DiffJobsContextual) against the
	// stored job; nil unless the request asked for it.
	Diff *JobDiff
	// Deployment is the deployment registering the job would create
	// (canaries, desired counts per group), nil when it would create none.
	Deployment *Deployment
	Warnings   string
	WriteMeta
}

// RaftRemovePeerRequest asks the leader to remove a server from the Raft
// configuration (a server leaving gracefully sends it for itself).
type RaftRemovePeerRequest struct {
	ID string // the server's Raft ID
	// Address removes the server with this Raft address instead (ID "").
	Address string
	WriteRequest
}

// JobVersionsRequest reads the kept versions of a job; with Diffs, also the
// difference of each version from the one before it.
type JobVersionsRequest struct {
	JobID string
	Diffs bool
	QueryOptions
}

// JobVersionsResponse carries a job's kept versions, newest first, and with
// Diffs, Diffs[i] is what changed from Versions[i+1] to Versions[i] (one
// fewer than the versions).
type JobVersionsResponse struct {
	Versions []*Job
	Diffs    []*JobDiff
	QueryMeta
}

// JobRevertRequest registers again a kept version of a job, as a new version.
// EnforcePriorVersion, when set, makes it apply only if the job's current
// version is that one.
type JobRevertRequest struct {
	JobID               string
	JobVersion          uint64
	EnforcePriorVersion *uint64
	WriteRequest
}

// JobStabilityRequest marks a kept version of a job stable or not.
type JobStabilityRequest struct {
	JobID      string
	JobVersion uint64
	Stable     bool
	WriteRequest
}

// JobStabilityResponse answers a JobStabilityRequest.
type JobStabilityResponse struct {
	WriteMeta
}

// JobPeriodicForceRequest launches a periodic job now (Job.PeriodicForce).
type JobPeriodicForceRequest struct {
	JobID string
	WriteRequest
}

// JobPeriodicForceResponse answers a periodic force: the child's evaluation.
type JobPeriodicForceResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	Index           uint64
}

// JobDispatchRequest dispatches a parameterized job (Job.Dispatch). A
// dispatch whose IdempotencyToken a child of the job already carries
// returns that child instead of a new one.
type JobDispatchRequest struct {
	JobID            string
	Payload          []byte
	Meta             map[string]string
	IdempotencyToken string
	WriteRequest
}

// JobDispatchResponse answers a dispatch.
type JobDispatchResponse struct {
	DispatchedJobID string
	EvalID          string
	EvalCreateIndex uint64
	JobCreateIndex  uint64
	Index           uint64
}
