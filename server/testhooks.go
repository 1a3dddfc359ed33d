package server

import (
	"context"

	"github.com/orch-io/orch/scheduler"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// testHooks are the injection points of this package's tests, set through the
// unexported Config.testHooks; outside this package they are always zero,
// which is production behaviour.
type testHooks struct {
	// queryWaiting, when set, is called each time a blocking query is about
	// to wait, with what it waits on.
	queryWaiting func(*state.Watch)
	// newScheduler, when set, replaces scheduler.New in the workers.
	newScheduler func(structs.JobType, scheduler.Config) (scheduler.Scheduler, error)
	// rpcReceived, when set, is called before the dispatcher runs a call that
	// came over the network, with the call's context: a test can hold it (a
	// leader that stops answering) until ctx ends.
	rpcReceived func(ctx context.Context, method string)
	// gcArmed, when set, is called each time the periodic garbage collection
	// has armed its timer: a test with a fake clock advances it only then.
	gcArmed func()
	// gcRan, when set, is called after each periodic garbage collection.
	gcRan func()
	// noPeerCloseProbe turns off the probe of the leader when a Raft
	// connection closes (raft_failover.go): only its silence is watched.
	noPeerCloseProbe bool
	// leaderProbe, when set, replaces this server's own probe of its leader
	// (processGone) when it considers standing (not when another server
	// asks it, Status.LeaderGone).
	leaderProbe func(ctx context.Context, addr string) bool
	// beforeEstablish, when set, is called by the leader loop once its
	// barrier is applied, before the leadership is established: a test
	// holds a leader Raft elected that does not lead yet.
	beforeEstablish func(ctx context.Context)
}
