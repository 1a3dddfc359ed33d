package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/orch-io/orch/structs"
)

// defaultHeartbeatTTL is assumed when a server answers without a TTL, and
// before the first answer.
const defaultHeartbeatTTL = 10 * time.Second

// maxHeartbeatCallTimeout caps HeartbeatCallTimeout for long TTLs: a server
// that has not answered a heartbeat in 5s is better given up for the next.
const maxHeartbeatCallTimeout = 5 * time.Second

// heartbeatLoop registers the node, then heartbeats for as long as the client
// runs. Each call is bounded by HeartbeatCallTimeout of the last TTL the
// servers gave. A failed call is retried with backoff; a heartbeat the
// servers answer with "not found" (they lost or purged the node) registers
// again at once. Waits are on Config.Clock. Runs on its own goroutine until
// Shutdown.
func (c *Client) heartbeatLoop() {
	defer c.wg.Done()
	needRegister := true
	failures := 0
	lastTTL := defaultHeartbeatTTL
	for {
		var ttl time.Duration
		var err error
		timeout := HeartbeatCallTimeout(lastTTL)
		if c.reregister.Swap(false) {
			needRegister = true
		}
		if needRegister {
			ttl, err = c.register(timeout)
			if err == nil {
				needRegister = false
				select {
				case <-c.registered:
				default:
					close(c.registered)
				}
			}
		} else {
			ttl, err = c.heartbeat(timeout)
		}
		if c.ctx.Err() != nil {
			return
		}

		var wait time.Duration
		switch {
		case err == nil:
			failures = 0
			if ttl > 0 {
				lastTTL = ttl
			}
			c.heartbeatUntil.Store(c.cfg.Clock.Now().Add(lastTTL).UnixNano())
			wait = heartbeatInterval(ttl, c.heartbeatJitter())
		case !needRegister && errors.Is(err, structs.ErrNotFound):
			c.logger.Warn("servers do not know this node; registering again", "error", err)
			needRegister = true
		default:
			failures++
			wait = heartbeatRetry(c.cfg.RetryInterval, c.cfg.MaxRetryInterval, failures)
			c.logger.Warn("cannot reach the servers", "registering", needRegister, "retry_in", wait, "error", err)
		}

		if !c.sleepOrKick(wait) {
			return
		}
	}
}

// sessionWatcher is what of the RPC client tells of a lost connection
// (RPCClient); the in-process server of a combined agent has none.
type sessionWatcher interface{ OnSessionLost(func()) }

// kickHeartbeat makes the heartbeat loop heartbeat now: the connection to
// the servers was lost, and they give a node whose connection ended only
// reconnect_grace to heartbeat again (server/session_liveness.go).
func (c *Client) kickHeartbeat() {
	select {
	case c.heartbeatKick <- struct{}{}:
	default:
	}
}

// sleepOrKick waits d on the client's clock, or until kickHeartbeat, and
// reports true, or false when the client shuts down first.
func (c *Client) sleepOrKick(d time.Duration) bool {
	woke := make(chan struct{})
	t := c.cfg.Clock.AfterFunc(d, func() { close(woke) })
	defer t.Stop()
	select {
	case <-woke:
		return true
	case <-c.heartbeatKick:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// sayStopping tells the servers, in a last heartbeat, that the agent stops
// on purpose and its tasks keep running, so the end of its connection is no
// sign of failure and the node keeps its TTL to come back (a restart, an
// upgrade). Best effort, within ctx.
func (c *Client) sayStopping(ctx context.Context) {
	req := &structs.NodeUpdateStatusRequest{
		NodeID: c.nodeID, SecretID: c.secretID, Status: structs.NodeStatusReady, AgentStopping: true,
		WriteRequest: structs.WriteRequest{Region: c.cfg.Region},
	}
	var resp structs.NodeUpdateResponse
	if err := c.callRPC(ctx, "Node.UpdateStatus", req, &resp); err != nil {
		c.logger.Warn("could not tell the servers the agent is stopping", "error", err)
	}
}

// HeartbeatCallTimeout bounds one registration or heartbeat call, given the
// TTL the servers last gave: a third of it, at most maxHeartbeatCallTimeout.
// A heartbeat is sent at most TTL/2 + TTL/10 after the last one, so a call
// to a server that stopped answering gives up before the TTL runs out, and
// the retry (after firstHeartbeatRetry) still reaches the next server within
// the TTL and its grace.
func HeartbeatCallTimeout(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		ttl = defaultHeartbeatTTL
	}
	return min(ttl/3, maxHeartbeatCallTimeout)
}

// callWithin calls the servers, giving up after timeout (or on Shutdown).
// The deadline ends the call on the server side too, and the RPC client then
// moves to the next server: one that stopped answering is not asked again.
func (c *Client) callWithin(timeout time.Duration, method string, args, reply any) error {
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	err := c.callRPC(ctx, method, args, reply)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && c.ctx.Err() == nil {
		return fmt.Errorf("%s: no answer within %s: %w", method, timeout, err)
	}
	return err
}

// register sends Node.Register, bounded by timeout, and returns the
// heartbeat TTL.
func (c *Client) register(timeout time.Duration) (time.Duration, error) {
	c.mu.Lock()
	c.mu.node.StatusUpdatedAt = c.cfg.Clock.Now().Unix()
	node := c.mu.node.Copy()
	c.mu.Unlock()

	var resp structs.NodeUpdateResponse
	req := &structs.NodeRegisterRequest{Node: node, WriteRequest: structs.WriteRequest{Region: c.cfg.Region}}
	if err := c.callWithin(timeout, "Node.Register", req, &resp); err != nil {
		return 0, err
	}
	c.logger.Info("node registered", "heartbeat_ttl", resp.HeartbeatTTL)
	c.learnServers(resp.Servers)
	return resp.HeartbeatTTL, nil
}

// heartbeat sends Node.UpdateStatus, bounded by timeout, and returns the
// heartbeat TTL.
func (c *Client) heartbeat(timeout time.Duration) (time.Duration, error) {
	var resp structs.NodeUpdateResponse
	req := &structs.NodeUpdateStatusRequest{
		NodeID: c.nodeID, SecretID: c.secretID, Status: structs.NodeStatusReady,
		WriteRequest: structs.WriteRequest{Region: c.cfg.Region},
	}
	if err := c.callWithin(timeout, "Node.UpdateStatus", req, &resp); err != nil {
		return 0, err
	}
	c.learnServers(resp.Servers)
	return resp.HeartbeatTTL, nil
}

// serverLister is what of the RPC client learns the servers' addresses
// (RPCClient); the in-process server of a combined agent does not need to.
type serverLister interface{ SetServers([]string) }

// learnServers gives the server list the servers reported to the RPC client,
// so that a client started with one server fails over to the others.
func (c *Client) learnServers(servers []string) {
	if l, ok := c.cfg.Servers.(serverLister); ok && len(servers) > 0 {
		l.SetServers(servers)
	}
}

// heartbeatJitter is a random fraction in [0, 1), or 0 when jitter is off.
func (c *Client) heartbeatJitter() float64 {
	if c.cfg.NoHeartbeatJitter {
		return 0
	}
	return rand.Float64()
}

// heartbeatInterval is when to send the next heartbeat for a TTL: half the TTL
// plus up to a tenth of it (jitter in [0, 1) spreads the nodes), so always well
// within the TTL. A TTL of zero means defaultHeartbeatTTL.
func heartbeatInterval(ttl time.Duration, jitter float64) time.Duration {
	if ttl <= 0 {
		ttl = defaultHeartbeatTTL
	}
	return ttl/2 + time.Duration(jitter*float64(ttl/10))
}

// firstHeartbeatRetry is the wait before the first retry of a failed
// registration or heartbeat. It is short: the failure is most often a server
// that went away or a leader that changed, the RPC client has already moved
// to the next server, and the new leader must hear from the node well within
// the grace it gave it.
const firstHeartbeatRetry = 200 * time.Millisecond

// heartbeatRetry is the wait before retry number failures of a registration
// or heartbeat: firstHeartbeatRetry (or base, if shorter) the first time,
// then backoff from base.
func heartbeatRetry(base, limit time.Duration, failures int) time.Duration {
	if failures <= 1 {
		return min(firstHeartbeatRetry, base, limit)
	}
	return backoff(base, limit, failures-1)
}

// backoff is the wait before retry number failures (1 is the first): base,
// doubling each time, at most limit.
func backoff(base, limit time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
