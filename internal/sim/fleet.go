package sim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/structs"
)

// fleet is the simulated nodes and what they observed. Its counters are
// read by the sampler while the nodes' goroutines add to them.
type fleet struct {
	ctx   context.Context
	rpcs  []*client.RPCClient // one yamux session each
	nodes []*simNode
	wg    sync.WaitGroup // the nodes' watch goroutines

	placed       atomic.Int64 // allocations handed to a node to run
	running      atomic.Int64 // allocations running now, as reported and taken
	allocUpdates atomic.Int64 // allocation updates the servers took
	// allocsFetched counts the allocations the nodes fetched
	// (Alloc.GetAllocs): one per new allocation and per change the
	// servers made to one, however often the nodes' watches wake.
	allocsFetched atomic.Int64
	heartbeats    atomic.Int64 // heartbeats the servers answered
	rpcErrors     atomic.Int64
	ttl           atomic.Int64 // the last heartbeat TTL handed out, in ns

	mu struct {
		sync.Mutex
		// runningOn is the node that reported each allocation running,
		// and wasRunning every allocation that ever ran; an allocation
		// reported running by a second node lands in doubleRun.
		runningOn  map[string]*simNode
		wasRunning map[string]bool
		doubleRun  []string
		lastErr    error
		// firstPlacedAfter is when the first allocation created after
		// markIndex (the killed leader's last Raft index: a plan of the new
		// leader) was handed to a node, zero until then.
		mark             time.Time
		markIndex        uint64
		firstPlacedAfter time.Time
		// runningAfterMark are the times allocations began running after
		// mark (a node loss), in order; createdAfterMark and
		// handedAfterMark are when the servers committed the allocations
		// placed after mark (their CreateTime) and when they reached their
		// nodes: where the time between a loss and the running went.
		runningAfterMark []time.Time
		createdAfterMark []time.Time
		handedAfterMark  []time.Time
		// killed holds the IDs of the nodes the simulation killed.
		killed map[string]bool
	}
}

// newFleet makes n nodes over sessions RPC clients, each to every server
// (rotated, so the sessions spread over them).
func newFleet(ctx context.Context, cfg *Config, c *cluster) (*fleet, error) {
	f := &fleet{ctx: ctx}
	f.mu.runningOn = map[string]*simNode{}
	f.mu.wasRunning = map[string]bool{}
	f.mu.killed = map[string]bool{}
	for k := range cfg.Sessions {
		rpc, err := client.NewRPCClient(c.rpcAddrs(k), nil)
		if err != nil {
			f.close()
			return nil, err
		}
		f.rpcs = append(f.rpcs, rpc)
	}
	for i := range cfg.Nodes {
		f.nodes = append(f.nodes, newSimNode(f, i, f.rpcs[i%len(f.rpcs)]))
	}
	// A client whose connection ends heartbeats at once (as client.Client
	// does): the servers give it reconnect_grace to.
	for k, rpc := range f.rpcs {
		var mine []*simNode
		for i := k; i < len(f.nodes); i += len(f.rpcs) {
			mine = append(mine, f.nodes[i])
		}
		rpc.OnSessionLost(func() {
			for _, n := range mine {
				n.kickHeartbeat()
			}
		})
	}
	return f, nil
}

// registerAll registers every node, at most 64 at a time, and starts its
// heartbeats and its watch.
func (f *fleet) registerAll() error {
	sem := make(chan struct{}, 64)
	errs := make(chan error, len(f.nodes))
	var wg sync.WaitGroup
	for _, n := range f.nodes {
		select {
		case sem <- struct{}{}:
		case <-f.ctx.Done():
			wg.Wait()
			return f.ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ttl, err := n.register()
			if err != nil {
				errs <- fmt.Errorf("registering %s: %w", n.node.Name, err)
				return
			}
			n.start(ttl)
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return f.ctx.Err()
}

// close kills every node (which closes the connections of its own, killed
// or not), closes the shared sessions and waits for the watches to
// end. The sessions are closed before the wait: a call blocked opening a
// stream (yamux's OpenStream takes no context) ends only then.
func (f *fleet) close() {
	for _, n := range f.nodes {
		n.kill(NodeLossExit)
	}
	for _, rpc := range f.rpcs {
		rpc.Close()
	}
	f.wg.Wait()
}

func (f *fleet) noteError(err error) {
	f.mu.Lock()
	f.mu.lastErr = err
	f.mu.Unlock()
}

// placedAlloc counts an allocation handed to a node.
func (f *fleet) placedAlloc(a *structs.Allocation) {
	f.placed.Add(1)
	now := time.Now()
	f.mu.Lock()
	if !f.mu.mark.IsZero() && a.CreateIndex > f.mu.markIndex {
		if f.mu.firstPlacedAfter.IsZero() {
			f.mu.firstPlacedAfter = now
		}
		f.mu.createdAfterMark = append(f.mu.createdAfterMark, time.Unix(0, a.CreateTime))
		f.mu.handedAfterMark = append(f.mu.handedAfterMark, now)
	}
	f.mu.Unlock()
}

// runningAlloc records that n's report of u running was taken.
func (f *fleet) runningAlloc(n *simNode, u *structs.Allocation) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if other, ok := f.mu.runningOn[u.ID]; ok && other != n || f.mu.wasRunning[u.ID] {
		f.mu.doubleRun = append(f.mu.doubleRun, u.ID)
		return
	}
	f.mu.runningOn[u.ID] = n
	f.mu.wasRunning[u.ID] = true
	f.running.Add(1)
	if !f.mu.mark.IsZero() {
		f.mu.runningAfterMark = append(f.mu.runningAfterMark, now)
	}
}

// stoppedAlloc records that an allocation's report of its end was taken.
func (f *fleet) stoppedAlloc(u *structs.Allocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.mu.runningOn[u.ID]; ok {
		delete(f.mu.runningOn, u.ID)
		f.running.Add(-1)
	}
}

// setMark starts measuring what follows an event (a kill) from t; index is
// the last Raft index before it (0: any allocation placed after t counts).
func (f *fleet) setMark(t time.Time, index uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.mark, f.mu.markIndex, f.mu.firstPlacedAfter = t, index, time.Time{}
	f.mu.runningAfterMark, f.mu.createdAfterMark, f.mu.handedAfterMark = nil, nil, nil
}

// killNodes kills the given nodes (Config.NodeLossMode) and forgets their
// running allocations (they are lost); it returns how many allocations ran
// on them.
func (f *fleet) killNodes(victims []*simNode, mode string) int {
	dead := map[*simNode]bool{}
	for _, n := range victims {
		n.kill(mode)
		dead[n] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range victims {
		f.mu.killed[n.node.ID] = true
	}
	lost := 0
	for id, n := range f.mu.runningOn {
		if dead[n] {
			delete(f.mu.runningOn, id)
			lost++
		}
	}
	f.running.Add(-int64(lost))
	return lost
}

// runningByNode counts the allocations running on each node.
func (f *fleet) runningByNode() map[*simNode]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[*simNode]int{}
	for _, n := range f.mu.runningOn {
		out[n]++
	}
	return out
}

// killedIDs returns the IDs of the nodes killed so far (a copy).
func (f *fleet) killedIDs() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.mu.killed)
}

func (f *fleet) lastError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.lastErr
}

// firstPlacedAfterMark is when the first allocation was placed after the
// mark, zero until then.
func (f *fleet) firstPlacedAfterMark() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.firstPlacedAfter
}

// runningAfterMarkTimes are the times allocations began running after the
// mark, in order (a copy).
func (f *fleet) runningAfterMarkTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.mu.runningAfterMark)
}

// placedAfterMarkTimes are when the allocations placed after the mark were
// committed by the servers and when they reached their nodes, each sorted.
func (f *fleet) placedAfterMarkTimes() (created, handed []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	created, handed = slices.Clone(f.mu.createdAfterMark), slices.Clone(f.mu.handedAfterMark)
	slices.SortFunc(created, time.Time.Compare)
	slices.SortFunc(handed, time.Time.Compare)
	return created, handed
}
