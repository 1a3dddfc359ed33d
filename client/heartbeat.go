package client

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/orch-io/orch/structs"
)

// defaultHeartbeatTTL is assumed when a server answers without a TTL.
const defaultHeartbeatTTL = 10 * time.Second

// heartbeatLoop registers the node, then heartbeats for as long as the client
// runs. A failed call is retried with backoff; a heartbeat the servers answer
// with "not found" (they lost or purged the node) registers again at once.
// Runs on its own goroutine until Shutdown.
func (c *Client) heartbeatLoop() {
	defer c.wg.Done()
	needRegister := true
	failures := 0
	for {
		var ttl time.Duration
		var err error
		if needRegister {
			ttl, err = c.register()
			if err == nil {
				needRegister = false
				select {
				case <-c.registered:
				default:
					close(c.registered)
				}
			}
		} else {
			ttl, err = c.heartbeat()
		}
		if c.ctx.Err() != nil {
			return
		}

		var wait time.Duration
		switch {
		case err == nil:
			failures = 0
			wait = heartbeatInterval(ttl, c.heartbeatJitter())
		case !needRegister && errors.Is(err, structs.ErrNotFound):
			c.logger.Warn("servers do not know this node; registering again", "error", err)
			needRegister = true
		default:
			failures++
			wait = heartbeatRetry(c.cfg.RetryInterval, c.cfg.MaxRetryInterval, failures)
			c.logger.Warn("cannot reach the servers", "registering", needRegister, "retry_in", wait, "error", err)
		}

		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
	}
}

// register sends Node.Register and returns the heartbeat TTL.
func (c *Client) register() (time.Duration, error) {
	c.mu.Lock()
	c.mu.node.StatusUpdatedAt = time.Now().Unix()
	node := c.mu.node.Copy()
	c.mu.Unlock()

	var resp structs.NodeUpdateResponse
	req := &structs.NodeRegisterRequest{Node: node, WriteRequest: structs.WriteRequest{Region: c.cfg.Region}}
	if err := c.callRPC(c.ctx, "Node.Register", req, &resp); err != nil {
		return 0, err
	}
	c.logger.Info("node registered", "heartbeat_ttl", resp.HeartbeatTTL)
	c.learnServers(resp.Servers)
	return resp.HeartbeatTTL, nil
}

// heartbeat sends Node.UpdateStatus and returns the heartbeat TTL.
func (c *Client) heartbeat() (time.Duration, error) {
	var resp structs.NodeUpdateResponse
	req := &structs.NodeUpdateStatusRequest{
		NodeID: c.nodeID, SecretID: c.secretID, Status: structs.NodeStatusReady,
		WriteRequest: structs.WriteRequest{Region: c.cfg.Region},
	}
	if err := c.callRPC(c.ctx, "Node.UpdateStatus", req, &resp); err != nil {
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
