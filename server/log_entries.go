package server

import (
	"fmt"

	"github.com/orch-io/orch/structs"
)

// The Raft log format. An entry is one MessageType byte followed by the
// msgpack encoding (structs.MsgpackHandle) of the entry struct of that type.
// Every entry is applied by the FSM as one unit, on every server, in log
// order; everything an entry needs to be applied deterministically (times,
// IDs, evaluations to create) is decided by the leader and carried in it.

// MessageType is the first byte of a Raft log entry.
type MessageType uint8

//go:generate stringer -type=MessageType -trimprefix=Msg

// Log entry types. Never renumber: they are on disk.
const (
	MsgJobRegister       MessageType = 1 // JobRegisterEntry
	MsgJobDeregister     MessageType = 2 // JobDeregisterEntry
	MsgEvalUpdate        MessageType = 3 // EvalUpdateEntry
	MsgNodeRegister      MessageType = 4 // NodeRegisterEntry
	MsgNodeUpdateStatus  MessageType = 5 // NodeUpdateStatusEntry
	MsgApplyPlanResults  MessageType = 6 // ApplyPlanResultsEntry
	MsgAllocClientUpdate MessageType = 7 // AllocClientUpdateEntry
	MsgSchedulerConfig   MessageType = 8 // SchedulerConfigEntry
	MsgWrite             MessageType = 9 // WriteEntry
	// MsgServiceRegistrations: ServiceRegistrationsEntry (services.go).
	MsgServiceRegistrations MessageType = 10

	// ACL entries (acl_endpoint.go) start at 40, leaving 10-39 to the
	// entry types other work adds meanwhile.
	MsgACLPolicyUpsert MessageType = 40 // ACLPolicyUpsertEntry
	MsgACLPolicyDelete MessageType = 41 // ACLPolicyDeleteEntry
	MsgACLTokenUpsert  MessageType = 42 // ACLTokenUpsertEntry
	MsgACLTokenDelete  MessageType = 43 // ACLTokenDeleteEntry
	MsgACLBootstrap    MessageType = 44 // ACLBootstrapEntry
	// Entry version 5: ACL roles.
	MsgACLRoleUpsert MessageType = 45 // ACLRoleUpsertEntry
	MsgACLRoleDelete MessageType = 46 // ACLRoleDeleteEntry

	// Entry version 4: alloc stop, node eligibility and drain (drain.go).
	MsgAllocDesiredTransition MessageType = 11 // AllocDesiredTransitionEntry
	MsgNodeEligibility        MessageType = 12 // NodeEligibilityEntry
	MsgNodeDrain              MessageType = 13 // NodeDrainEntry

	// Entry version 4: job stability and deployment updates (deployments).
	MsgJobStability     MessageType = 14 // JobStabilityEntry
	MsgDeploymentUpdate MessageType = 15 // DeploymentUpdateEntry

	// Entry version 5: namespaces (namespace_endpoint.go). They start at 50,
	// leaving 16-39 to the entry types other work adds meanwhile.
	MsgNamespaceUpsert MessageType = 50 // NamespaceUpsertEntry
	MsgNamespaceDelete MessageType = 51 // NamespaceDeleteEntry
	// Entry version 5: garbage collection (core_gc.go).
	MsgCoreGC MessageType = 16 // CoreGCEntry
	// Entry version 5: launches of periodic and parameterized jobs (periodic.go).
	MsgJobLaunch MessageType = 17 // JobLaunchEntry
	// Entry version 5: the replicated autopilot configuration
	// (operator_autopilot.go).
	MsgAutopilotConfig MessageType = 18 // AutopilotConfigEntry
	// Entry version 6: nodes marked down together (heartbeat.go).
	MsgNodesDown MessageType = 19 // NodesDownEntry
)

// MsgIgnoreUnknownFlag, set on a type, lets a server that does not know the
// type skip the entry (with a warning) instead of failing on it. New entry
// types that only add optional information carry it, so that older servers
// keep working during an upgrade (DESIGN.md §4).
const MsgIgnoreUnknownFlag MessageType = 0x80

// JobRegisterEntry registers a job and its evaluation at one index.
type JobRegisterEntry struct {
	Job  *structs.Job
	Eval *structs.Evaluation
	// EnforceIndex (entry version 3) makes the registration a compare-and-set
	// decided by the FSM: with JobModifyIndex 0 the job must not exist,
	// otherwise its JobModifyIndex must be JobModifyIndex; if not, the entry
	// applies nothing and fails with structs.CodeConflict. Honoured only in
	// an entry wrapped in a WriteEntry: a bare entry may be read by a server
	// that predates these fields and would ignore them.
	EnforceIndex   bool
	JobModifyIndex uint64
}

// JobLaunchEntry launches a child of a periodic job (Launch set: the
// launcher's, or a force with Force) or of a parameterized job (a dispatch):
// the child job and its evaluation, at one index. The FSM makes a launch
// happen once: a scheduled launch whose time is not after the recorded
// launch of its parent applies nothing (a new leader retrying it), nor does
// a child whose ID exists, nor a dispatch whose idempotency token a child of
// the parent already carries. Child nil with Launch set records a skipped
// launch (prohibit_overlap).
type JobLaunchEntry struct {
	Child  *structs.Job
	Eval   *structs.Evaluation
	Launch *structs.PeriodicLaunch
	Force  bool
}

// AllocDesiredTransitionEntry sets the desired transition of allocations
// (by ID) and records the evaluations that act on it, at one index.
type AllocDesiredTransitionEntry struct {
	Transitions map[string]structs.DesiredTransition
	// Stop stops allocations at once, by ID, with the description given
	// (a drain's deadline): they are not waiting for replacements.
	Stop  map[string]string
	Evals []*structs.Evaluation
}

// NodeEligibilityEntry sets a node's scheduling eligibility, recording Event
// (when not nil) in its events.
type NodeEligibilityEntry struct {
	NodeID      string
	Eligibility structs.NodeEligibility
	Event       *structs.NodeEvent
}

// NodeDrainEntry starts (DrainStrategy set) or ends (nil) a node's drain.
// Starting makes the node ineligible; ending makes it eligible again when
// MarkEligible. Event (when not nil) is recorded in its events; Evals are
// the evaluations to create at the same index.
type NodeDrainEntry struct {
	NodeID        string
	DrainStrategy *structs.DrainStrategy
	MarkEligible  bool
	// Complete records LastDrain as complete (drain finished) rather than
	// canceled, when DrainStrategy is nil.
	Complete  bool
	Event     *structs.NodeEvent
	UpdatedAt int64
	// Meta, when not nil, is the drain's metadata in the node's LastDrain
	// (the user's, from the request).
	Meta map[string]string
}

// JobDeregisterEntry stops a job (Stop set, job kept) or, with Purge, removes
// it, and records its evaluation at the same index.
type JobDeregisterEntry struct {
	// Namespace is the job's; absent in entries from before namespaces
	// (then the evaluation's, or "default").
	Namespace string
	JobID     string
	Purge     bool
	Eval      *structs.Evaluation
}

// EvalUpdateEntry inserts or updates evaluations.
type EvalUpdateEntry struct {
	Evals []*structs.Evaluation
}

// NodeRegisterEntry inserts a node or replaces its registration, with the
// evaluations the change calls for (system jobs placing on the node).
type NodeRegisterEntry struct {
	Node  *structs.Node
	Evals []*structs.Evaluation // optional: absent in entries of older servers
}

// NodeUpdateStatusEntry records a node's liveness, with the evaluations the
// change calls for (a node going down: one per job with allocations on it).
type NodeUpdateStatusEntry struct {
	NodeID    string
	Status    structs.NodeStatus
	UpdatedAt int64 // unix seconds
	Evals     []*structs.Evaluation
}

// NodesDownEntry (entry version 6) marks several nodes down at once, with
// one evaluation per job that had allocations on any of them: the leader
// group-commits the nodes whose timers ran out together (a rack's power, a
// batch of killed agents), so that each job is rescheduled once for all of
// them instead of once per node. A node already gone from the state is
// skipped.
type NodesDownEntry struct {
	NodeIDs   []string
	UpdatedAt int64 // unix seconds
	Evals     []*structs.Evaluation
}

// ApplyPlanResultsEntry records what the plan applier accepted of a plan:
// new and updated allocations (those with a nil Job run Job) and stops.
type ApplyPlanResultsEntry struct {
	EvalID string
	Job    *structs.Job
	Allocs []*structs.Allocation
	// Deployment and DeploymentUpdates (entry version 4) create the
	// deployment the allocations belong to and cancel superseded ones. A
	// server older than version 4 ignores them. TODO(#8): gate plans that
	// carry them on every server reading version 4.
	Deployment        *structs.Deployment
	DeploymentUpdates []*structs.DeploymentStatusUpdate
}

// AllocClientUpdateEntry records client-side status of allocations.
type AllocClientUpdateEntry struct {
	Allocs []*structs.Allocation
}

// SchedulerConfigEntry sets the scheduler configuration; with CAS only if the
// stored one's ModifyIndex is Config.ModifyIndex.
type SchedulerConfigEntry struct {
	Config *structs.SchedulerConfiguration
	CAS    bool
}

// AutopilotConfigEntry (entry version 5) sets the autopilot configuration;
// with CAS only if the stored one's ModifyIndex is Config.ModifyIndex (0:
// none stored, how the first leader seeds it from its agent's settings).
type AutopilotConfigEntry struct {
	Config *structs.AutopilotConfig
	CAS    bool
}

// JobStabilityEntry (entry version 4) marks a kept version of a job stable
// or not.
type JobStabilityEntry struct {
	// Namespace is the job's ("" in entries from before namespaces:
	// "default").
	Namespace string
	JobID     string
	Version   uint64
	Stable    bool
}

// DeploymentUpdateEntry (entry version 4) is what the deployment watcher or
// an operator decides about deployments, applied at one index: status
// changes (end, pause, resume), promotions, allocation health set by hand,
// versions marked stable, and the evaluations these call for.
type DeploymentUpdateEntry struct {
	StatusUpdates  []*structs.DeploymentStatusUpdate
	Promotions     []*DeploymentPromotion
	AllocHealth    *DeploymentAllocHealth
	StableVersions []*JobStabilityEntry
	Evals          []*structs.Evaluation
	// GC lists ended deployments the leader's GC removes.
	GC []string
	// Time is the leader's clock (unix nanoseconds), stamped on what changes.
	Time int64
}

// DeploymentPromotion promotes the canaries of Groups (all when empty).
type DeploymentPromotion struct {
	DeploymentID string
	Groups       []string
}

// DeploymentAllocHealth sets the health of allocations of a deployment.
type DeploymentAllocHealth struct {
	DeploymentID string
	Healthy      []string
	Unhealthy    []string
}

// WriteEntry (entry version 3) wraps the entry of a write a client asked
// for (Type and Body: the inner entry's type and msgpack body) with what makes
// the write idempotent. The FSM applies the inner entry and records its
// outcome under RequestID in the request window (state.RequestOutcome); an
// entry whose RequestID is already there is not applied again and answers
// the recorded outcome. Its FSM response is always a *state.RequestOutcome,
// which carries the inner entry's error, if any.
type WriteEntry struct {
	// RequestID is structs.WriteRequest.RequestID; "" records nothing.
	RequestID string
	// Time is the leader's clock when it wrote the entry (unix nanoseconds):
	// the request window ages by it, so that every server, replaying the log
	// whenever it does, keeps the same window.
	Time int64
	Type MessageType
	Body []byte
}

// ACLPolicyUpsertEntry (entry version 4) creates or replaces policies,
// validated by the leader.
type ACLPolicyUpsertEntry struct {
	Policies []*structs.ACLPolicy
}

// ACLPolicyDeleteEntry (entry version 4) deletes policies by name.
type ACLPolicyDeleteEntry struct {
	Names []string
}

// ACLTokenUpsertEntry (entry version 4) creates or replaces tokens; the
// leader made their IDs, secrets and times.
type ACLTokenUpsertEntry struct {
	Tokens []*structs.ACLToken
}

// ACLTokenDeleteEntry (entry version 4) deletes tokens by accessor ID.
type ACLTokenDeleteEntry struct {
	AccessorIDs []string
}

// ACLRoleUpsertEntry (entry version 5) creates or replaces roles, IDs set by
// the leader; a name taken by another role fails the entry.
type ACLRoleUpsertEntry struct {
	Roles []*structs.ACLRole
}

// ACLRoleDeleteEntry (entry version 5) deletes roles by ID.
type ACLRoleDeleteEntry struct {
	IDs []string
}

// ACLBootstrapEntry (entry version 4) stores the first management token,
// provided the recorded bootstrap index is still ResetIndex (0: never
// bootstrapped), so that two racing bootstraps make one token.
type ACLBootstrapEntry struct {
	Token      *structs.ACLToken
	ResetIndex uint64
}

// NamespaceUpsertEntry (entry version 4) creates namespaces or replaces
// their description and meta, validated by the leader.
type NamespaceUpsertEntry struct {
	Namespaces []*structs.Namespace
}

// NamespaceDeleteEntry (entry version 4) deletes namespaces by name; the
// FSM refuses the whole entry when one is "default" or still has a job that
// is not dead.
type NamespaceDeleteEntry struct {
	Namespaces []string
}

// encodeEntry builds a log entry.
func encodeEntry(t MessageType, body any) ([]byte, error) {
	buf, err := structs.EncodeAfter([]byte{byte(t)}, body)
	if err != nil {
		return nil, fmt.Errorf("server: encoding %s entry: %w", t, err)
	}
	return buf, nil
}
