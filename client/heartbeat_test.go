package client

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/clock/clocktest"
	"github.com/orch-io/orch/structs"
)

func TestHeartbeatCallTimeout(t *testing.T) {
	for _, tc := range []struct{ ttl, want time.Duration }{
		{300 * time.Millisecond, 100 * time.Millisecond},
		{10 * time.Second, 10 * time.Second / 3},
		{15 * time.Second, maxHeartbeatCallTimeout},
		{10 * time.Minute, maxHeartbeatCallTimeout},
		{0, defaultHeartbeatTTL / 3},
	} {
		got := HeartbeatCallTimeout(tc.ttl)
		if got != tc.want {
			t.Errorf("HeartbeatCallTimeout(%v) = %v, want %v", tc.ttl, got, tc.want)
		}
		// What the bound is for: a heartbeat sent as late as the loop
		// sends one, which then times out, is given up before the TTL runs
		// out, so that its retry has the rest of the TTL and the grace.
		ttl := tc.ttl
		if ttl <= 0 {
			ttl = defaultHeartbeatTTL
		}
		if sent := heartbeatInterval(ttl, 0.999); sent+got >= ttl {
			t.Errorf("TTL %v: a heartbeat sent at %v that times out after %v is given up after the TTL", ttl, sent, got)
		}
	}
}

// scriptedServers answers Node.Register and Node.UpdateStatus with a TTL,
// and holds the heartbeats it is told to hang until the test ends. Every
// call is recorded before it is answered.
type scriptedServers struct {
	ttl     time.Duration
	release chan struct{}

	mu    sync.Mutex
	calls []string
	hang  int // how many of the next heartbeats to hang
}

func (s *scriptedServers) RPC(ctx context.Context, method string, args, reply any) error {
	s.mu.Lock()
	s.calls = append(s.calls, method)
	hang := method == "Node.UpdateStatus" && s.hang > 0
	if hang {
		s.hang--
	}
	s.mu.Unlock()
	if hang {
		// As a real RPCer: a call that is not answered ends with its ctx.
		select {
		case <-s.release:
			return context.Canceled
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	reply.(*structs.NodeUpdateResponse).HeartbeatTTL = s.ttl
	return nil
}

func (s *scriptedServers) callsSoFar() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// The heartbeat loop waits on the client's clock (half the TTL, no jitter
// here), and gives up on a heartbeat the server does not answer within a
// third of the TTL, retrying on the clock's time.
func TestHeartbeatLoop_WaitsOnTheClockAndBoundsEachCall(t *testing.T) {
	clk := clocktest.NewFake()
	servers := &scriptedServers{ttl: 300 * time.Millisecond, release: make(chan struct{})}
	t.Cleanup(func() { close(servers.release) })
	cfg := Config{
		Servers: servers, Logger: testLogger(t), Clock: clk, NoHeartbeatJitter: true,
		RetryInterval: 50 * time.Millisecond, MaxRetryInterval: time.Second,
	}.withDefaults("test-host")
	c := &Client{cfg: cfg, logger: cfg.Logger, nodeID: structs.GenerateUUID(), secretID: structs.GenerateUUID(), registered: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.node = &structs.Node{ID: c.nodeID, SecretID: c.secretID, Name: "test-node"}
	c.wg.Add(1)
	go c.heartbeatLoop()
	t.Cleanup(func() { c.cancel(); c.wg.Wait() })

	// waitArmed waits until the loop waits on the clock, then checks the
	// calls made so far: the loop makes none until the clock moves.
	waitArmed := func(want ...string) {
		t.Helper()
		waitFor(t, "the heartbeat loop to wait on the clock", func() bool { return clk.Pending() == 1 })
		if got := servers.callsSoFar(); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("calls %q, want %q", got, want)
		}
	}
	waitArmed("Node.Register")
	select {
	case <-c.registered:
	default:
		t.Fatal("registered not closed after a successful registration")
	}

	clk.Advance(150*time.Millisecond - time.Nanosecond) // TTL/2, less a nanosecond
	waitArmed("Node.Register")

	servers.mu.Lock()
	servers.hang = 1
	servers.mu.Unlock()
	clk.Advance(time.Nanosecond)
	// The heartbeat hangs; after 100ms of real time (TTL/3) the loop gives
	// up on it and waits the first retry (50ms, the retry interval) on the
	// clock.
	waitArmed("Node.Register", "Node.UpdateStatus")
	clk.Advance(50*time.Millisecond - time.Nanosecond)
	waitArmed("Node.Register", "Node.UpdateStatus")
	clk.Advance(time.Nanosecond)
	waitArmed("Node.Register", "Node.UpdateStatus", "Node.UpdateStatus")
}
