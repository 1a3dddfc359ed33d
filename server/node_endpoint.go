package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// nodeEndpoint serves the "Node" RPC methods (structs/rpc.go): what client
// agents call to register, heartbeat, watch their allocations and report on
// them, and the reads of the HTTP API.
type nodeEndpoint struct {
	srv *Server
}

func nodeNotFound(id string) error {
	return structs.NewError(structs.CodeNotFound, "node %q not found", id)
}

// checkSecret fails when the node is registered with another secret.
func checkSecret(node *structs.Node, secretID string) error {
	if node.SecretID != "" && node.SecretID != secretID {
		return structs.NewError(structs.CodePermissionDenied, "node %q: node secret ID does not match", node.ID)
	}
	return nil
}

// noteConn remembers, once the node's call succeeded (its secret checked),
// the session the node called over: the way back to its client
// (client_forward.go), and the session the leader's timer of the node names
// (session_liveness.go). Forwarded calls come from servers and are skipped.
func (n *nodeEndpoint) noteConn(ctx context.Context, nodeID string, err *error) {
	if *err == nil {
		n.srv.noteNodeSession(ctx, nodeID)
	}
}

// sessionName is the name of the session a client's call came in on, for
// the leader's timers; "" for an in-process call. A forwarded call keeps the
// name the first server gave it.
func sessionName(ctx context.Context, forwarded bool, given string) string {
	if forwarded {
		return given
	}
	if ms := sessionOf(ctx); ms != nil {
		return ms.name
	}
	return ""
}

// Register inserts a client node, or replaces its registration, with status
// ready, and (re)starts its heartbeat timer.
func (n *nodeEndpoint) Register(ctx context.Context, args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) (err error) {
	if !args.Forwarded && args.Node != nil {
		defer n.noteConn(ctx, args.Node.ID, &err)
	}
	args.Session = sessionName(ctx, args.Forwarded, args.Session)
	if done, err := n.srv.forward(ctx, "Node.Register", args, reply); done {
		return err
	}
	if args.Node == nil {
		return errors.New("node register: the request carries no node")
	}
	var problems []error
	if args.Node.ID == "" {
		problems = append(problems, errors.New(`node register: ID = "": a node needs an ID`))
	}
	if args.Node.SecretID == "" {
		problems = append(problems, errors.New(`node register: SecretID = "": a node needs a secret ID`))
	}
	if err := errors.Join(problems...); err != nil {
		return err
	}
	snap := n.srv.state.Snapshot()
	old := snap.NodeByID(args.Node.ID)
	if old != nil {
		if err := checkSecret(old, args.Node.SecretID); err != nil {
			return err
		}
	}
	now := time.Now()
	node := args.Node.Copy()
	node.Status = structs.NodeStatusReady
	node.StatusDescription = ""
	node.StatusUpdatedAt = now.Unix()
	node.CreateIndex, node.ModifyIndex = 0, 0
	if node.NodePool == "" {
		node.NodePool = structs.NodePoolDefault
	}
	node.ComputeClass() // the scheduler caches feasibility per computed class
	entry := &NodeRegisterEntry{Node: node}
	if nodeChangeNeedsSystemEvals(old, node) {
		entry.Evals = systemJobEvals(snap, node.ID, now)
	}
	index, err := n.srv.raftApply(MsgNodeRegister, entry)
	if err != nil {
		return err
	}
	reply.HeartbeatTTL = n.srv.heartbeats.reset(node.ID, args.Session)
	reply.Servers = n.srv.serverAddrs()
	reply.Index = index
	n.srv.logger.Info("node registered", "node_id", node.ID, "name", node.Name, "index", index, "system_evals", len(entry.Evals))
	return nil
}

// UpdateStatus is the client's heartbeat: it restarts the node's timer and,
// when the node was down, records it ready again. A client may also report
// itself down (leaving).
func (n *nodeEndpoint) UpdateStatus(ctx context.Context, args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) (err error) {
	if !args.Forwarded {
		defer n.noteConn(ctx, args.NodeID, &err)
	}
	args.Session = sessionName(ctx, args.Forwarded, args.Session)
	if done, err := n.srv.forward(ctx, "Node.UpdateStatus", args, reply); done {
		return err
	}
	status := args.Status
	if status == "" {
		status = structs.NodeStatusReady
	}
	switch status {
	case structs.NodeStatusReady, structs.NodeStatusDown, structs.NodeStatusInit:
	default:
		return fmt.Errorf("node update status: status = %q: must be %q, %q or %q", status,
			structs.NodeStatusReady, structs.NodeStatusDown, structs.NodeStatusInit)
	}
	node := n.srv.state.NodeByID(args.NodeID)
	if node == nil {
		return nodeNotFound(args.NodeID)
	}
	if err := checkSecret(node, args.SecretID); err != nil {
		return err
	}
	// Heartbeats are only meaningful on the leader, which owns the timers
	// (forward sent them there; this one lost leadership meanwhile).
	if !n.srv.leads() {
		return fmt.Errorf("%w: this server is not the leader", structs.ErrNoLeader)
	}

	index := node.ModifyIndex
	switch {
	case status == structs.NodeStatusDown:
		n.srv.heartbeats.clear(node.ID)
		i, err := n.srv.markNodeDown(node.ID, "client reported down")
		if err != nil {
			return err
		}
		index = max(index, i)
	case node.Status != status:
		now := time.Now()
		entry := &NodeUpdateStatusEntry{NodeID: node.ID, Status: status, UpdatedAt: now.Unix()}
		if status == structs.NodeStatusReady && node.SchedulingEligibility != structs.NodeIneligible {
			// Back (or first) ready: system jobs place there.
			entry.Evals = systemJobEvals(n.srv.state.Snapshot(), node.ID, now)
		}
		i, err := n.srv.raftApply(MsgNodeUpdateStatus, entry)
		if err != nil {
			return err
		}
		index = i
		n.srv.logger.Info("node status changed", "node_id", node.ID, "from", node.Status, "to", status, "index", index)
	}
	if status != structs.NodeStatusDown {
		session := args.Session
		if args.AgentStopping {
			// Its connection is about to end on purpose: not a failure.
			session = ""
			n.srv.logger.Info("client agent stopping; the node keeps its TTL", "node_id", node.ID)
		}
		reply.HeartbeatTTL = n.srv.heartbeats.reset(node.ID, session)
	}
	reply.Servers = n.srv.serverAddrs()
	reply.Index = index
	return nil
}

// GetClientAllocs returns the ID and AllocModifyIndex of every allocation
// assigned to the node; the client fetches the ones it lacks or that changed
// with Alloc.GetAllocs, so an answer costs the same whatever the jobs weigh.
// It blocks (MinQueryIndex) until the servers give the node an allocation or
// change one of its allocations (AllocModifyIndex).
func (n *nodeEndpoint) GetClientAllocs(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.NodeClientAllocsResponse) error {
	if done, err := n.srv.forward(ctx, "Node.GetClientAllocs", args, reply); done {
		return err
	}
	node := n.srv.state.NodeByID(args.NodeID)
	if node == nil && args.AllowStale && !args.Forwarded && !n.srv.IsLeader() {
		// A client's watch is a stale read (client.WatchAllocsRequest), and
		// a follower may not have applied the node's registration yet: the
		// leader has.
		fwd := *args
		fwd.AllowStale = false
		if done, err := n.srv.forward(ctx, "Node.GetClientAllocs", &fwd, reply); done {
			return err
		}
		node = n.srv.state.NodeByID(args.NodeID) // this server became the leader
	}
	if node == nil {
		return nodeNotFound(args.NodeID)
	}
	if err := checkSecret(node, args.SecretID); err != nil {
		return err
	}
	// The query waits on the index of the servers' writes to the node's
	// allocations (its own key of the state's index table, set at its
	// registration), not on the allocations: those change at each of the
	// client's own reports too, and neither other nodes' placements nor
	// reports wake it. The answer lists them once, from the latest state (a
	// wait holds no snapshot: 5,000 waiting clients would pin 5,000 versions
	// of the state).
	err := n.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		return max(snap.NodeAllocsIndex(args.NodeID), 1), nil
	})
	if err != nil {
		return err
	}
	snap := n.srv.state.Snapshot()
	allocs := snap.AllocsByNode(args.NodeID)
	reply.Allocs = make(map[string]uint64, len(allocs))
	for _, a := range allocs {
		reply.Allocs[a.ID] = a.AllocModifyIndex
	}
	reply.Index = max(reply.Index, snap.NodeAllocsIndex(args.NodeID))
	return nil
}

// UpdateAlloc records client-side status of allocations (ClientStatus,
// ClientDescription, TaskStates). Updates arriving within
// AllocUpdateBatchWindow share one Raft entry; the call returns once its
// batch is committed.
func (n *nodeEndpoint) UpdateAlloc(ctx context.Context, args *structs.AllocUpdateRequest, reply *structs.GenericResponse) error {
	if done, err := n.srv.forward(ctx, "Node.UpdateAlloc", args, reply); done {
		return err
	}
	if len(args.Alloc) == 0 {
		return errors.New("node update alloc: the request carries no allocations")
	}
	now := time.Now().UnixNano()
	updates := make([]*structs.Allocation, 0, len(args.Alloc))
	var problems []error
	for i, a := range args.Alloc {
		if a == nil || a.ID == "" {
			problems = append(problems, fmt.Errorf("node update alloc: allocation %d has no ID", i))
			continue
		}
		switch a.ClientStatus {
		case structs.AllocClientStatusPending, structs.AllocClientStatusRunning, structs.AllocClientStatusComplete,
			structs.AllocClientStatusFailed, structs.AllocClientStatusLost:
		default:
			problems = append(problems, fmt.Errorf("node update alloc: allocation %s: client status = %q: not a known status", a.ID, a.ClientStatus))
			continue
		}
		// Only the client's fields travel; the rest is the servers'.
		updates = append(updates, &structs.Allocation{
			ID:                a.ID,
			ClientStatus:      a.ClientStatus,
			ClientDescription: a.ClientDescription,
			TaskStates:        a.TaskStates,
			DeploymentStatus:  a.DeploymentStatus,
			ModifyTime:        now,
		})
	}
	if err := errors.Join(problems...); err != nil {
		return err
	}
	if !n.srv.leads() {
		return fmt.Errorf("%w: this server is not the leader", structs.ErrNoLeader)
	}
	index, err := n.srv.allocUpdates.submit(n.srv.shutdownCtx, updates)
	if err != nil {
		return err
	}
	reply.Index = index
	return nil
}

// GetNode returns one node (without its secret), nil when it does not exist.
func (n *nodeEndpoint) GetNode(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.SingleNodeResponse) error {
	if done, err := n.srv.forward(ctx, "Node.GetNode", args, reply); done {
		return err
	}
	return n.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Node = nil
		if node := snap.NodeByID(args.NodeID); node != nil {
			reply.Node = node.Copy()
			reply.Node.SecretID = ""
		}
		return snap.IndexUnwatched(state.TableNodes), nil
	})
}

// List returns the summaries of the nodes whose ID starts with Prefix.
func (n *nodeEndpoint) List(ctx context.Context, args *structs.NodeListRequest, reply *structs.NodeListResponse) error {
	if done, err := n.srv.forward(ctx, "Node.List", args, reply); done {
		return err
	}
	return n.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		nodes := snap.Nodes(args.Prefix)
		reply.Nodes = make([]*structs.NodeListStub, 0, len(nodes))
		for _, node := range nodes {
			reply.Nodes = append(reply.Nodes, node.Stub())
		}
		return snap.IndexUnwatched(state.TableNodes), nil
	})
}

// Allocations returns every allocation assigned to a node, with its job, for
// the API (GET /v1/node/:id/allocations); it needs no node secret. A node
// that does not exist has none.
func (n *nodeEndpoint) Allocations(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.NodeAllocsResponse) error {
	if done, err := n.srv.forward(ctx, "Node.Allocations", args, reply); done {
		return err
	}
	return n.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Allocs = snap.AllocsByNode(args.NodeID)
		return snap.IndexUnwatched(state.TableAllocs), nil
	})
}
