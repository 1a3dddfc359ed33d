package server

import (
	"context"
	"slices"

	"github.com/orch-io/orch/acl"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// Authorizing RPC calls: one rule per method, in one table. When ACLs are
// enabled the dispatcher runs the rule of a call before its endpoint (and
// the rule's filter on its reply), so an endpoint never sees a call its
// caller may not make. A method without a rule is refused: whoever adds an
// endpoint declares its rule here (TestEveryRPCMethodHasAnACLRule fails
// otherwise).
//
// A job is named by its namespace and ID: the calls about a job are checked
// in the request's namespace, the one the endpoint reads the job from.
// Allocations, evaluations, deployments and service instances, named by ID
// alone, are checked in the namespace of the object, read from the state,
// not in the namespace the request claims. Lists of one namespace need the
// capability there; lists of every namespace ("*") are filtered to the
// namespaces the token may read.

// rpcRule authorizes one method's calls.
type rpcRule struct {
	// check refuses a call with a CodePermissionDenied error.
	check func(z *authz, args any) error
	// filter, when set, removes from the reply what the caller may not see.
	filter func(z *authz, reply any)
}

// authz is what a rule decides with: the caller's credential, resolved on
// demand (a client's node secret is no ACL token), and the state.
type authz struct {
	srv    *Server
	secret string
	snap   *state.Snapshot
	r      *resolvedToken
	err    error
}

// acl resolves the caller's token (once).
func (z *authz) acl() (*acl.ACL, error) {
	if z.r == nil && z.err == nil {
		z.r, z.err = z.srv.resolveToken(z.snap, z.secret)
	}
	if z.err != nil {
		return nil, z.err
	}
	return z.r.acl, nil
}

func errPermissionDenied() error {
	return structs.NewError(structs.CodePermissionDenied, "Permission denied")
}

// allow turns a decision into the rule's error.
func (z *authz) allow(decide func(a *acl.ACL) bool) error {
	a, err := z.acl()
	if err != nil {
		return err
	}
	if !decide(a) {
		return errPermissionDenied()
	}
	return nil
}

// namespaceOf is a request's namespace, "default" when it names none.
func namespaceOf(args any) string {
	if info, ok := args.(structs.RPCInfo); ok && info.RequestNamespace() != "" {
		return info.RequestNamespace()
	}
	return structs.DefaultNamespace
}

// Rules.
var (
	open = rpcRule{check: func(*authz, any) error { return nil }}
	// anyToken: any valid token (or the anonymous policy).
	anyToken      = rpcRule{check: func(z *authz, _ any) error { _, err := z.acl(); return err }}
	management    = level((*acl.ACL).IsManagement)
	nodeRead      = level((*acl.ACL).AllowNodeRead)
	nodeWrite     = level((*acl.ACL).AllowNodeWrite)
	operatorRead  = level((*acl.ACL).AllowOperatorRead)
	operatorWrite = level((*acl.ACL).AllowOperatorWrite)
	agentRead     = level((*acl.ACL).AllowAgentRead)
	agentWrite    = level((*acl.ACL).AllowAgentWrite)
)

func level(decide func(*acl.ACL) bool) rpcRule {
	return rpcRule{check: func(z *authz, _ any) error { return z.allow(decide) }}
}

// inNamespace checks capability op in the namespace of the object the
// request names (nsOf; "" when it does not exist: the request's namespace).
func inNamespace(op string, nsOf func(snap *state.Snapshot, args any) string) rpcRule {
	return rpcRule{check: func(z *authz, args any) error {
		ns := nsOf(z.snap, args)
		if ns == "" {
			ns = namespaceOf(args)
		}
		return z.allow(func(a *acl.ACL) bool { return a.AllowNamespaceOperation(ns, op) })
	}}
}

// inRequestNamespace checks capability op in the request's namespace: the
// calls about a job, which the endpoint looks up in that namespace.
func inRequestNamespace(op string) rpcRule {
	return inNamespace(op, func(*state.Snapshot, any) string { return "" })
}

// anyOfInRequestNamespace checks that the token has one of ops in the
// request's namespace.
func anyOfInRequestNamespace(ops ...string) rpcRule {
	return rpcRule{check: func(z *authz, args any) error {
		ns := namespaceOf(args)
		return z.allow(func(a *acl.ACL) bool {
			return slices.ContainsFunc(ops, func(op string) bool { return a.AllowNamespaceOperation(ns, op) })
		})
	}}
}

// listIn checks a list: op in the request's namespace, or, for "*", any
// valid token (the filter keeps what it may read).
func listIn(op string, filter func(z *authz, reply any)) rpcRule {
	return rpcRule{check: func(z *authz, args any) error {
		ns := namespaceOf(args)
		if ns == structs.AllNamespaces {
			_, err := z.acl()
			return err
		}
		return z.allow(func(a *acl.ACL) bool { return a.AllowNamespaceOperation(ns, op) })
	}, filter: filter}
}

// submitJob checks submit-job in the job's namespace (the request's when the
// job names none; the endpoint refuses a job that names another).
var submitJob = rpcRule{check: func(z *authz, args any) error {
	var job *structs.Job
	switch a := args.(type) {
	case *structs.JobRegisterRequest:
		job = a.Job
	case *structs.JobPlanRequest:
		job = a.Job
	}
	if job == nil {
		// The endpoint refuses a request without a job; the caller still
		// needs a valid token to hear that.
		_, err := z.acl()
		return err
	}
	ns := job.Namespace
	if ns == "" {
		ns = namespaceOf(args)
	}
	return z.allow(func(a *acl.ACL) bool { return a.AllowNamespaceOperation(ns, acl.CapSubmitJob) })
}}

// nodeSecret lets a client node act for itself only: the credential must be
// the secret of the node the request names (nodeOf), or a token with node
// write. A node not yet registered may register with any credential: its
// secret becomes the one it must present afterwards.
func nodeSecret(nodeOf func(args any) string) rpcRule {
	return rpcRule{check: func(z *authz, args any) error {
		id := nodeOf(args)
		node := z.snap.NodeByID(id)
		switch {
		case node == nil:
			if _, register := args.(*structs.NodeRegisterRequest); register {
				return nil
			}
		case node.SecretID != "" && node.SecretID == z.secret:
			return nil
		}
		return z.allow((*acl.ACL).AllowNodeWrite)
	}}
}

// allocUpdate lets a client report on the allocations of its own node only.
var allocUpdate = rpcRule{check: func(z *authz, args any) error {
	for _, a := range args.(*structs.AllocUpdateRequest).Alloc {
		if a == nil {
			continue
		}
		stored := z.snap.AllocByID(a.ID)
		if stored == nil {
			continue // the endpoint skips unknown allocations
		}
		node := z.snap.NodeByID(stored.NodeID)
		if node == nil || node.SecretID == "" || node.SecretID != z.secret {
			if err := z.allow((*acl.ACL).AllowNodeWrite); err != nil {
				return err
			}
		}
	}
	return nil
}}

// allocsGet lets a client fetch the allocations of its own node; anyone else
// needs read-job in each allocation's namespace.
var allocsGet = rpcRule{check: func(z *authz, args any) error {
	client := z.clientNode()
	for _, id := range args.(*structs.AllocsGetRequest).AllocIDs {
		stored := z.snap.AllocByID(id)
		if stored == nil {
			continue // the endpoint skips unknown allocations
		}
		if client != nil && stored.NodeID == client.ID {
			continue
		}
		if err := z.allow(func(a *acl.ACL) bool { return a.AllowNamespaceOperation(stored.Namespace, acl.CapReadJob) }); err != nil {
			return err
		}
	}
	return nil
}}

// clientNode is the node whose secret the caller presents, nil when the
// caller is no client.
func (z *authz) clientNode() *structs.Node { return z.snap.NodeBySecret(z.secret) }

// registryRead lets the caller read the service registry in namespace ns:
// a token with read-job there, or a client that runs allocations of ns (its
// templates read the services; Nomad's clients read them with the
// allocations' workload identities, which grant the same).
func (z *authz) registryRead(ns string) error {
	if node := z.clientNode(); node != nil {
		if slices.ContainsFunc(z.snap.AllocsByNode(node.ID), func(a *structs.Allocation) bool { return a.Namespace == ns }) {
			return nil
		}
	}
	return z.allow(func(a *acl.ACL) bool { return a.AllowNamespaceOperation(ns, acl.CapReadJob) })
}

// serviceUpsert lets a client register and remove the service instances of
// its own node's allocations only: the node each instance names, the node
// of its allocation and the node of each instance removed must all be the
// caller's (or the token must have node write).
var serviceUpsert = rpcRule{check: func(z *authz, args any) error {
	r := args.(*structs.ServiceRegistrationUpsertRequest)
	nodes := map[string]bool{}
	for _, s := range r.Services {
		if s == nil {
			continue // the endpoint refuses it
		}
		nodes[s.NodeID] = true
		if a := z.snap.AllocByID(s.AllocID); a != nil {
			nodes[a.NodeID] = true
		}
	}
	for _, id := range r.DeleteIDs {
		if reg := z.snap.ServiceRegistrationByID(id); reg != nil {
			nodes[reg.NodeID] = true
		}
	}
	for id := range nodes {
		node := z.snap.NodeByID(id)
		if node == nil || node.SecretID == "" || node.SecretID != z.secret {
			return z.allow((*acl.ACL).AllowNodeWrite)
		}
	}
	return nil
}}

// Reply filters of lists: keep what the token may read.
func keepNamespaces[T any](z *authz, items []T, op string, nsOf func(T) string) []T {
	a, err := z.acl()
	if err != nil {
		return nil
	}
	out := items[:0]
	for _, it := range items {
		if a.AllowNamespaceOperation(nsOf(it), op) {
			out = append(out, it)
		}
	}
	return out
}

// rpcRules is the rule of every RPC method.
var rpcRules = map[string]rpcRule{
	"Job.Register":         submitJob,
	"Job.Plan":             submitJob,
	"Job.Deregister":       inRequestNamespace(acl.CapSubmitJob),
	"Job.GetJob":           jobRead,
	"Job.Allocations":      jobRead,
	"Job.Evaluations":      jobRead,
	"Job.Summary":          jobRead,
	"Job.Deployments":      jobRead,
	"Job.LatestDeployment": jobRead,
	// Job versions as in Nomad: the history is read-job, reverting and
	// marking a version stable submit-job, in the job's namespace.
	"Job.GetJobVersions": inRequestNamespace(acl.CapReadJob),
	"Job.Revert":         inRequestNamespace(acl.CapSubmitJob),
	"Job.Stable":         inRequestNamespace(acl.CapSubmitJob),
	// Periodic and parameterized jobs as in Nomad: a force is submit-job,
	// a dispatch dispatch-job (which Nomad's "write" policy grants).
	"Job.PeriodicForce": inRequestNamespace(acl.CapSubmitJob),
	"Job.Dispatch":      inRequestNamespace(acl.CapDispatchJob),
	// Scaling a group is scale-job or submit-job, as in Nomad: the request
	// carries a group and a count, not a job.
	"Job.Scale": anyOfInRequestNamespace(acl.CapScaleJob, acl.CapSubmitJob),
	"Job.List": listIn(acl.CapListJobs, func(z *authz, reply any) {
		r := reply.(*structs.JobListResponse)
		r.Jobs = keepNamespaces(z, r.Jobs, acl.CapListJobs, func(j *structs.JobListStub) string { return j.Namespace })
	}),

	"Node.Register":        nodeSecret(func(a any) string { return nodeID(a.(*structs.NodeRegisterRequest).Node) }),
	"Node.UpdateStatus":    nodeSecret(func(a any) string { return a.(*structs.NodeUpdateStatusRequest).NodeID }),
	"Node.GetClientAllocs": nodeSecret(func(a any) string { return a.(*structs.NodeSpecificRequest).NodeID }),
	"Node.UpdateAlloc":     allocUpdate,
	// A server's report of a lost client connection (session_liveness.go):
	// forwarded by a server only; checkServerOnly vouches for the peer.
	"Node.SessionLost": {check: func(_ *authz, args any) error {
		if isForwarded(args) {
			return nil
		}
		return errPermissionDenied()
	}},
	"Node.GetNode": nodeRead,
	// Draining a node and its eligibility are node write, as in Nomad.
	"Node.UpdateDrain":       nodeWrite,
	"Node.UpdateEligibility": nodeWrite,
	"Node.List":              nodeRead,
	// Node.Allocations is the API's view of a node (Nomad's node read); of
	// its allocations it shows those whose namespace the token may read.
	"Node.Allocations": {check: nodeRead.check, filter: func(z *authz, reply any) {
		r := reply.(*structs.NodeAllocsResponse)
		r.Allocs = keepNamespaces(z, r.Allocs, acl.CapReadJob, func(a *structs.Allocation) string { return a.Namespace })
	}},

	"Alloc.GetAllocs": allocsGet,
	"Alloc.GetAlloc": inNamespace(acl.CapReadJob, func(s *state.Snapshot, a any) string {
		if al := s.AllocByID(a.(*structs.AllocSpecificRequest).AllocID); al != nil {
			return al.Namespace
		}
		return ""
	}),
	// Stopping an allocation is alloc-lifecycle in its namespace, as in Nomad.
	"Alloc.Stop": inNamespace(acl.CapAllocLifecycle, func(s *state.Snapshot, a any) string {
		if al := s.AllocByID(a.(*structs.AllocStopRequest).AllocID); al != nil {
			return al.Namespace
		}
		return ""
	}),
	"Alloc.List": listIn(acl.CapReadJob, func(z *authz, reply any) {
		r := reply.(*structs.AllocListResponse)
		r.Allocations = keepNamespaces(z, r.Allocations, acl.CapReadJob, func(a *structs.AllocListStub) string { return a.Namespace })
	}),
	// Deployments as in Nomad: reads are read-job, every change (promote,
	// fail, pause, allocation health) submit-job, in the namespace of the
	// deployment named.
	"Deployment.List": listIn(acl.CapReadJob, func(z *authz, reply any) {
		r := reply.(*structs.DeploymentListResponse)
		r.Deployments = keepNamespaces(z, r.Deployments, acl.CapReadJob, func(d *structs.Deployment) string { return d.Namespace })
	}),
	"Deployment.GetDeployment": deploymentRead,
	"Deployment.Allocations":   deploymentRule(acl.CapReadJob, func(a any) string { return a.(*structs.DeploymentSpecificRequest).DeploymentID }),
	"Deployment.Promote":       deploymentRule(acl.CapSubmitJob, func(a any) string { return a.(*structs.DeploymentPromoteRequest).DeploymentID }),
	"Deployment.Fail":          deploymentRule(acl.CapSubmitJob, func(a any) string { return a.(*structs.DeploymentFailRequest).DeploymentID }),
	"Deployment.Pause":         deploymentRule(acl.CapSubmitJob, func(a any) string { return a.(*structs.DeploymentPauseRequest).DeploymentID }),
	"Deployment.SetAllocHealth": deploymentRule(acl.CapSubmitJob, func(a any) string {
		return a.(*structs.DeploymentAllocHealthRequest).DeploymentID
	}),

	"Eval.GetEval":     evalRead,
	"Eval.Allocations": evalRead,
	"Eval.List": listIn(acl.CapReadJob, func(z *authz, reply any) {
		r := reply.(*structs.EvalListResponse)
		r.Evaluations = keepNamespaces(z, r.Evaluations, acl.CapReadJob, func(e *structs.Evaluation) string { return e.Namespace })
	}),

	// Status.Leader is open as in Nomad; Status.RaftStats (indexes and
	// terms) is what a leader's autopilot asks the other servers, which
	// present no token.
	"Status.Leader":    open,
	"Status.RaftStats": open,
	// A follower asks the other servers whether their leader's process is
	// gone before it stands (raft_failover.go); the answer probes only the
	// asked server's own leader.
	"Status.LeaderGone": open,

	"Operator.RaftGetConfiguration":      operatorRead,
	"Operator.RaftRemovePeer":            operatorWrite,
	"Operator.RaftTransferLeadership":    operatorWrite,
	"Operator.AutopilotGetConfiguration": operatorRead,
	"Operator.AutopilotSetConfiguration": operatorWrite,
	"Operator.ServerHealth":              operatorRead,
	"Operator.SchedulerGetConfiguration": operatorRead,
	"Operator.SchedulerSetConfiguration": operatorWrite,
	"Operator.SnapshotSave":              management,
	"Operator.SnapshotRestore":           management,
	// Nomad's /v1/system endpoints need a management token.
	"System.GarbageCollect":        management,
	"System.ReconcileJobSummaries": management,
	// The gossip keyring is the agent's, as in Nomad: agent read to list,
	// agent write to change.
	"Keyring.List":    agentRead,
	"Keyring.Install": agentWrite,
	"Keyring.Use":     agentWrite,
	"Keyring.Remove":  agentWrite,

	// The service registry: clients write the instances of their own
	// allocations; reads are read-job's, or a client's for its templates.
	"ServiceRegistration.Upsert": serviceUpsert,
	"ServiceRegistration.DeleteByID": inNamespace(acl.CapSubmitJob, func(s *state.Snapshot, a any) string {
		if r := s.ServiceRegistrationByID(a.(*structs.ServiceRegistrationDeleteRequest).ID); r != nil {
			return r.Namespace
		}
		return ""
	}),
	"ServiceRegistration.GetService": {check: func(z *authz, args any) error { return z.registryRead(namespaceOf(args)) }},
	"ServiceRegistration.AllocServices": {check: func(z *authz, args any) error {
		ns := namespaceOf(args)
		if al := z.snap.AllocByID(args.(*structs.AllocSpecificRequest).AllocID); al != nil {
			ns = al.Namespace
		}
		return z.registryRead(ns)
	}},
	"ServiceRegistration.List": {check: func(z *authz, args any) error {
		if ns := namespaceOf(args); ns != "*" {
			return z.registryRead(ns)
		}
		_, err := z.acl()
		return err
	}, filter: func(z *authz, reply any) {
		if z.clientNode() != nil {
			return // a client, let through for its namespace alone
		}
		r := reply.(*structs.ServiceRegistrationListResponse)
		r.Services = keepNamespaces(z, r.Services, acl.CapReadJob, func(l *structs.ServiceRegistrationNamespaceList) string { return l.Namespace })
	}},

	"ACL.Bootstrap":      open, // once; the endpoint refuses a second one
	"ACL.UpsertPolicies": management,
	"ACL.DeletePolicies": management,
	"ACL.ListPolicies":   management,
	"ACL.GetPolicy":      management,
	"ACL.UpsertTokens":   management,
	"ACL.DeleteTokens":   management,
	"ACL.ListTokens":     management,
	"ACL.GetToken":       management,
	"ACL.GetTokenSelf":   anyToken,
	"ACL.UpsertRoles":    management,
	"ACL.DeleteRoles":    management,
	"ACL.ListRoles":      management,
	"ACL.GetRole":        management,
	"ACL.ResolveToken":   open, // answers the caller about its own credential

	// Namespaces as in Nomad: management writes them; a token reads those
	// it has any capability in (the list filtered, one namespace checked).
	"Namespace.UpsertNamespaces": management,
	"Namespace.DeleteNamespaces": management,
	"Namespace.ListNamespaces": {check: anyToken.check, filter: func(z *authz, reply any) {
		r := reply.(*structs.NamespaceListResponse)
		a, err := z.acl()
		if err != nil {
			r.Namespaces = nil
			return
		}
		out := r.Namespaces[:0]
		for _, ns := range r.Namespaces {
			if a.AllowNamespace(ns.Name) {
				out = append(out, ns)
			}
		}
		r.Namespaces = out
	}},
	"Namespace.GetNamespace": {check: func(z *authz, args any) error {
		name := args.(*structs.NamespaceSpecificRequest).Name
		return z.allow(func(a *acl.ACL) bool { return a.AllowNamespace(name) })
	}},
}

// evalRead needs read-job in the evaluation's namespace.
var evalRead = inNamespace(acl.CapReadJob, func(s *state.Snapshot, a any) string {
	if e := s.EvalByID(a.(*structs.EvalSpecificRequest).EvalID); e != nil {
		return e.Namespace
	}
	return ""
})

// clientCallCapability is the namespace capability each client call needs
// in its allocation's namespace, as Nomad's (Server.DialNode authorizes the
// calls it lets through: authorizeClientCall). The streams themselves run
// over the session the client agent holds to a server; the client trusts
// the servers it dialled and checks no token.
var clientCallCapability = map[string]string{
	structs.ClientFSList:       acl.CapReadFS,
	structs.ClientFSStat:       acl.CapReadFS,
	structs.ClientFSCat:        acl.CapReadFS,
	structs.ClientFSLogs:       acl.CapReadLogs,
	structs.ClientAllocRestart: acl.CapAllocLifecycle,
	structs.ClientAllocSignal:  acl.CapAllocLifecycle,
	structs.ClientAllocChecks:  acl.CapReadJob,
	structs.ClientAllocExec:    acl.CapAllocExec,
	// Collecting an allocation on its client is submit-job, as Nomad's.
	structs.ClientAllocGC:    acl.CapSubmitJob,
	structs.ClientAllocStats: acl.CapReadJob,
}

// ClientCallCapabilities are the capabilities client method needs in the
// namespace of alloc, the allocation it is about (the servers' check, and
// the HTTP API's own of the calls it makes to its agent's client in
// process); false for no client call. Exec into an allocation with a task
// whose driver does not isolate its file system (raw_exec) also needs
// alloc-node-exec, as in Nomad: such a task's shell is a shell on the node.
// Nomad decides per task; orch per allocation (any task of its group),
// since the dial does not name the task: stricter for a group that mixes
// drivers.
func ClientCallCapabilities(method string, alloc *structs.Allocation) ([]string, bool) {
	c, ok := clientCallCapability[method]
	if !ok {
		return nil, false
	}
	if method == structs.ClientAllocExec && !allocFSIsolated(alloc) {
		return []string{c, acl.CapAllocNodeExec}, true
	}
	return []string{c}, true
}

// fsIsolatedDrivers are the task drivers whose tasks see only their own
// directories (driver.Capabilities.Isolated; a test of command/agent checks
// that the drivers it registers agree). Any other driver, an unknown one
// included, counts as the node's file system.
var fsIsolatedDrivers = map[string]bool{"exec": true, "docker": true}

// DriverIsolatesFS reports whether the tasks of driver name are isolated
// from the node's file system (Nomad's FSIsolation other than none).
func DriverIsolatesFS(name string) bool { return fsIsolatedDrivers[name] }

// allocFSIsolated reports whether every task of alloc's group runs with a
// driver that isolates its file system; false when the group is unknown.
func allocFSIsolated(alloc *structs.Allocation) bool {
	if alloc == nil || alloc.Job == nil {
		return false
	}
	tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup)
	if tg == nil {
		return false
	}
	for _, t := range tg.Tasks {
		if t == nil || !DriverIsolatesFS(t.Driver) {
			return false
		}
	}
	return true
}

// allowAll reports whether a grants every capability of caps in namespace ns.
func allowAll(a *acl.ACL, ns string, caps []string) bool {
	for _, c := range caps {
		if !a.AllowNamespaceOperation(ns, c) {
			return false
		}
	}
	return true
}

var jobRead = inRequestNamespace(acl.CapReadJob)

// deploymentRule checks op in the namespace of the deployment idOf names.
func deploymentRule(op string, idOf func(args any) string) rpcRule {
	return inNamespace(op, func(s *state.Snapshot, a any) string {
		if d := s.DeploymentByID(idOf(a)); d != nil {
			return d.Namespace
		}
		return ""
	})
}

// deploymentRead lets read-job in its namespace read a deployment, and a
// client read the deployments of its own node's allocations: it learns from
// them when its canaries are promoted (their services' tags).
var deploymentRead = rpcRule{check: func(z *authz, args any) error {
	id := args.(*structs.DeploymentSpecificRequest).DeploymentID
	if node := z.clientNode(); node != nil && id != "" &&
		slices.ContainsFunc(z.snap.AllocsByNode(node.ID), func(a *structs.Allocation) bool { return a.DeploymentID == id }) {
		return nil
	}
	return deploymentRule(acl.CapReadJob, func(a any) string { return a.(*structs.DeploymentSpecificRequest).DeploymentID }).check(z, args)
}}

func nodeID(n *structs.Node) string {
	if n == nil {
		return ""
	}
	return n.ID
}

// authorizeRPC runs the rule of method on a call; it returns the reply
// filter to run after the endpoint, if any. Called by the dispatcher before
// every call when ACLs are enabled.
func (s *Server) authorizeRPC(_ context.Context, method string, args any) (func(reply any), error) {
	rule, ok := rpcRules[method]
	if !ok {
		s.logger.Error("RPC method has no ACL rule: refused (declare it in server/acl_rpc.go)", "method", method)
		return nil, errPermissionDenied()
	}
	z := &authz{srv: s, snap: s.state.Snapshot()}
	if a, ok := args.(structs.Authenticated); ok {
		z.secret = a.GetAuthToken()
	}
	if err := rule.check(z, args); err != nil {
		return nil, err
	}
	if rule.filter == nil {
		return nil, nil
	}
	return func(reply any) { rule.filter(z, reply) }, nil
}
