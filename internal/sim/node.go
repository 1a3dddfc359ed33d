package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/structs"
)

// nodeClass is one kind of machine of the simulated fleet.
type nodeClass struct {
	name     string
	cpuMHz   int
	memoryMB int
}

// nodeClasses are the five kinds of machine; node i is of class i%5.
var nodeClasses = []nodeClass{
	{"small", 8 * 2500, 16 * 1024},
	{"medium", 16 * 2500, 64 * 1024},
	{"large", 32 * 2500, 128 * 1024},
	{"xlarge", 64 * 2500, 256 * 1024},
	{"highmem", 16 * 2500, 256 * 1024},
}

const (
	racks       = 25
	datacenters = 3
	nodeDiskMB  = 500 * 1024
)

// simNode is one simulated client node. Its watch runs on its own goroutine
// (a blocking call needs one); its heartbeats run on a timer's goroutine.
type simNode struct {
	f *fleet
	// rpc is the session the node shares with others, or after isolate,
	// own: a connection of its own.
	rpcMu  sync.Mutex
	rpc    client.RPCer
	own    *ownSession
	node   *structs.Node
	class  nodeClass
	ctx    context.Context
	cancel context.CancelFunc // kills the node: no leave, no more calls

	hbMu    sync.Mutex
	hbTimer *time.Timer

	// allocs is the client status this node last reported of each
	// allocation it was given; only the watch goroutine touches it.
	allocs map[string]structs.AllocClientStatus
}

// newSimNode builds node i: class i%5, rack i%25, datacenter i%3.
func newSimNode(f *fleet, i int, rpc client.RPCer) *simNode {
	class := nodeClasses[i%len(nodeClasses)]
	n := &simNode{f: f, rpc: rpc, class: class, allocs: map[string]structs.AllocClientStatus{}}
	n.ctx, n.cancel = context.WithCancel(f.ctx)
	n.node = &structs.Node{
		ID:         structs.GenerateUUID(),
		SecretID:   structs.GenerateUUID(),
		Name:       fmt.Sprintf("sim-%05d", i),
		Datacenter: fmt.Sprintf("dc%d", i%datacenters+1),
		NodeClass:  class.name,
		NodePool:   structs.NodePoolDefault,
		HTTPAddr:   "127.0.0.1:4646",
		Attributes: map[string]string{
			"kernel.name": "linux", "os.name": "ubuntu", "os.version": "24.04", "cpu.arch": "amd64",
			"cpu.numcores": fmt.Sprint(class.cpuMHz / 2500), "driver.raw_exec": "1",
		},
		Meta:              map[string]string{"rack": fmt.Sprintf("r%02d", i%racks)},
		NodeResources:     &structs.NodeResources{CPU: class.cpuMHz, MemoryMB: class.memoryMB, DiskMB: nodeDiskMB},
		ReservedResources: &structs.NodeResources{},
		Drivers: map[string]*structs.DriverInfo{
			"raw_exec": {Detected: true, Healthy: true, HealthDescription: "Healthy"},
		},
		Status:                structs.NodeStatusReady,
		SchedulingEligibility: structs.NodeEligible,
	}
	return n
}

// register sends Node.Register until it succeeds (or the node is killed) and
// returns the TTL the leader gave.
func (n *simNode) register() (time.Duration, error) {
	for failures := 0; ; failures++ {
		n.node.StatusUpdatedAt = time.Now().Unix()
		var resp structs.NodeUpdateResponse
		err := n.callWithin("Node.Register", &structs.NodeRegisterRequest{Node: n.node}, &resp)
		if err == nil {
			n.f.ttl.Store(int64(resp.HeartbeatTTL))
			return resp.HeartbeatTTL, nil
		}
		if !n.retryAfter(err, failures) {
			return 0, err
		}
	}
}

// retryAfter waits out the backoff after a failed call and reports whether
// to try again (false once the node is killed or the run ends).
func (n *simNode) retryAfter(err error, failures int) bool {
	n.f.rpcErrors.Add(1)
	n.f.noteError(err)
	t := time.NewTimer(min(200*time.Millisecond<<min(failures, 5), 5*time.Second))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.ctx.Done():
		return false
	}
}

// start begins heartbeating after the first TTL and watching allocations.
func (n *simNode) start(ttl time.Duration) {
	n.hbMu.Lock()
	n.hbTimer = time.AfterFunc(heartbeatInterval(ttl), n.heartbeat)
	n.hbMu.Unlock()
	n.f.wg.Add(1)
	go n.watch()
}

// callWithin makes a registration or heartbeat call bounded as a real
// client bounds it (client.HeartbeatCallTimeout of the last TTL handed out):
// a call stuck on a server that stopped answering, or on a session whose
// opens are backed up, gives up and is retried before the TTL runs out,
// instead of holding the node's heartbeats until the servers mark it down.
func (n *simNode) callWithin(method string, args, reply any) error {
	ctx, cancel := context.WithTimeout(n.ctx, client.HeartbeatCallTimeout(time.Duration(n.f.ttl.Load())))
	defer cancel()
	return n.caller().RPC(ctx, method, args, reply)
}

// caller is what the node calls the servers through.
func (n *simNode) caller() client.RPCer {
	n.rpcMu.Lock()
	defer n.rpcMu.Unlock()
	return n.rpc
}

// isolate moves the node to a connection of its own to addr, as a real
// client holds, and heartbeats over it, so that the leader's timer names
// that connection.
func (n *simNode) isolate(ctx context.Context, addr string) error {
	own, err := dialOwn(ctx, addr)
	if err != nil {
		return err
	}
	n.rpcMu.Lock()
	n.rpc, n.own = own, own
	n.rpcMu.Unlock()
	var resp structs.NodeUpdateResponse
	return n.callWithin("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{
		NodeID: n.node.ID, SecretID: n.node.SecretID, Status: structs.NodeStatusReady,
	}, &resp)
}

// kickHeartbeat heartbeats at once, as a real client does when its
// connection ends: the servers give it reconnect_grace to heartbeat again.
func (n *simNode) kickHeartbeat() {
	n.hbMu.Lock()
	defer n.hbMu.Unlock()
	if n.hbTimer != nil && n.ctx.Err() == nil {
		n.hbTimer.Reset(0)
	}
}

// heartbeatInterval is a real client's: half the TTL plus up to a tenth.
func heartbeatInterval(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	return ttl/2 + time.Duration(rand.Float64()*float64(ttl/10))
}

// heartbeat sends one Node.UpdateStatus and schedules the next: on the TTL
// the reply gives, 200ms later after a failure, and a registration again
// when the servers no longer know the node. Runs on the timer's goroutine.
func (n *simNode) heartbeat() {
	if n.ctx.Err() != nil {
		return
	}
	var resp structs.NodeUpdateResponse
	err := n.callWithin("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{
		NodeID: n.node.ID, SecretID: n.node.SecretID, Status: structs.NodeStatusReady,
	}, &resp)
	next := heartbeatInterval(resp.HeartbeatTTL)
	switch {
	case n.ctx.Err() != nil:
		return
	case err == nil:
		n.f.heartbeats.Add(1)
		n.f.ttl.Store(int64(resp.HeartbeatTTL))
	case errors.Is(err, structs.ErrNotFound):
		n.f.rpcErrors.Add(1)
		n.f.noteError(err)
		ttl, err := n.register()
		if err != nil {
			return
		}
		next = heartbeatInterval(ttl)
	default:
		n.f.rpcErrors.Add(1)
		n.f.noteError(err)
		next = 200 * time.Millisecond
	}
	n.hbMu.Lock()
	n.hbTimer.Reset(next)
	n.hbMu.Unlock()
}

// kill stops the node without a word to the servers: its watch and
// heartbeats end, and its own connection, if it has one, falls silent (mode
// NodeLossCrash: a machine that loses power) or is closed (NodeLossExit: the
// agent's process died and its kernel closed the socket).
func (n *simNode) kill(mode string) {
	n.rpcMu.Lock()
	if own := n.own; own != nil {
		if mode == NodeLossExit {
			own.sess.Close()
		} else {
			own.conn.Silence()
		}
	}
	n.rpcMu.Unlock()
	n.cancel()
	n.hbMu.Lock()
	if n.hbTimer != nil {
		n.hbTimer.Stop()
	}
	n.hbMu.Unlock()
}

// watch is the client's alloc watcher: a blocking Node.GetClientAllocs (the
// node's allocation IDs with their AllocModifyIndex), then a fetch of the
// new or changed ones (Alloc.GetAllocs, as client/alloc_watcher.go does),
// and for those, report each new allocation running (and each one the
// servers stopped complete) through Node.UpdateAlloc before blocking again.
func (n *simNode) watch() {
	defer n.f.wg.Done()
	var index uint64 = 1
	fetched := client.AllocIndexes{} // only this goroutine touches it
	confirm := false
	for failures := 0; n.ctx.Err() == nil; {
		var list structs.NodeClientAllocsResponse
		err := n.caller().RPC(n.ctx, "Node.GetClientAllocs",
			client.WatchAllocsRequest(n.node.ID, n.node.SecretID, "", index, 5*time.Minute, confirm), &list)
		if confirm = err == nil && !confirm && client.StaleBehind(&list, index); confirm {
			continue
		}
		confirm = false
		if err == nil {
			err = n.sync(&list, fetched)
		}
		if n.ctx.Err() != nil {
			return
		}
		if err != nil {
			if failures++; !n.retryAfter(err, failures) {
				return
			}
			continue
		}
		failures = 0
		index = max(list.Index, 1)
	}
}

// sync fetches the listed allocations that are new or changed since
// fetched says, reports what they call for, and only then records their
// indexes (a failed report fetches them again).
func (n *simNode) sync(list *structs.NodeClientAllocsResponse, fetched client.AllocIndexes) error {
	var allocs []*structs.Allocation
	if pull := fetched.Pull(list.Allocs); len(pull) > 0 {
		var err error
		if allocs, err = client.FetchAllocs(n.ctx, n.caller(), "", list, pull); err != nil {
			return err
		}
		n.f.allocsFetched.Add(int64(len(allocs)))
		if updates := n.changes(allocs); len(updates) > 0 && !n.report(updates) {
			return n.ctx.Err()
		}
	}
	fetched.Took(list.Allocs, allocs)
	return nil
}

// changes returns the client updates the allocations call for: running for
// each new one the servers want running, complete for each running one they
// stopped.
func (n *simNode) changes(allocs []*structs.Allocation) []*structs.Allocation {
	var updates []*structs.Allocation
	now := time.Now().UnixNano()
	for _, a := range allocs {
		cur, known := n.allocs[a.ID]
		var status structs.AllocClientStatus
		switch {
		case !known && a.DesiredStatus == structs.AllocDesiredStatusRun && !a.ClientTerminal():
			n.f.placedAlloc(a)
			status = structs.AllocClientStatusRunning
		case known && cur == structs.AllocClientStatusRunning && a.DesiredStatus != structs.AllocDesiredStatusRun:
			status = structs.AllocClientStatusComplete
		default:
			continue
		}
		states := map[string]*structs.TaskState{}
		if a.Job != nil {
			if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
				for _, t := range tg.Tasks {
					states[t.Name] = taskState(status, now)
				}
			}
		}
		updates = append(updates, &structs.Allocation{ID: a.ID, JobID: a.JobID, ClientStatus: status, TaskStates: states})
	}
	return updates
}

// taskState is what a client reports of a task that started (or ended).
func taskState(status structs.AllocClientStatus, now int64) *structs.TaskState {
	ts := &structs.TaskState{State: structs.TaskStateRunning, StartedAt: now, Events: []*structs.TaskEvent{
		{Type: structs.TaskReceived, Time: now, DisplayMessage: "Task received by client"},
		{Type: structs.TaskStarted, Time: now, DisplayMessage: "Task started by client"},
	}}
	if status != structs.AllocClientStatusRunning {
		ts.State, ts.FinishedAt = structs.TaskStateDead, now
	}
	return ts
}

// report sends updates until the servers take them; false when the node was
// killed first.
func (n *simNode) report(updates []*structs.Allocation) bool {
	for failures := 0; ; failures++ {
		var resp structs.GenericResponse
		err := n.caller().RPC(n.ctx, "Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: updates}, &resp)
		if err == nil {
			break
		}
		if !n.retryAfter(err, failures) {
			return false
		}
	}
	n.f.allocUpdates.Add(int64(len(updates)))
	for _, u := range updates {
		n.allocs[u.ID] = u.ClientStatus
		if u.ClientStatus == structs.AllocClientStatusRunning {
			n.f.runningAlloc(n, u)
		} else {
			n.f.stoppedAlloc(u)
		}
	}
	return true
}
