package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// rpcDialTimeout bounds connecting to one server.
const rpcDialTimeout = 5 * time.Second

// ErrRPCClosed is returned by RPC after Close.
var ErrRPCClosed = errors.New("client: rpc client closed")

// ErrNoServers is returned by RPC while the client knows no server address.
var ErrNoServers = errors.New("client: rpc client: no server address known yet")

// RPCClient calls the servers' RPC endpoints over the network: one TCP
// connection to one server at a time, opened with the structs.RPCTypeMultiplex
// byte and carrying a yamux session; each call is a yamux stream speaking
// net/rpc with the msgpack codec. The session is shared by all calls and
// reopened (on the next server in turn) when it fails.
//
// Safe for concurrent use. It implements RPCer.
type RPCClient struct {
	logger   *slog.Logger
	yamuxCfg *yamux.Config
	// tlsConfig gives each new connection its TLS configuration; nil, or a
	// nil result, means plain (RPCWithTLS).
	tlsConfig func() *tls.Config

	// seeds are the addresses the client was started with; SetServers keeps
	// them at the end of the list, as a way back in.
	seeds []string

	serveFields // the streams servers open to this client (clientrpc.go)

	mu struct {
		sync.Mutex
		servers []string
		next    int // index in servers of the server to try first
		session *yamux.Session
		addr    string // the session's server
		closed  bool
		// onLost is called when a session ends other than by Close
		// (OnSessionLost).
		onLost func()
		// retiring are sessions dropped after a failure but left open: the
		// servers take a connection closed by its client for a dead client
		// (server/session_liveness.go), so the client closes one only once
		// a call succeeded on a newer one (the heartbeat that follows a
		// drop is then what the servers' timer of the node names), or after
		// retireTimeout.
		retiring []*yamux.Session
		// dialing is the connection attempt under way, which every call
		// that finds no session waits for instead of dialing too: when a
		// shared session ends, its callers would otherwise each open a
		// connection to the server at once and all but one close theirs.
		dialing *dialAttempt
	}
	nRetiring atomic.Int32    // len(mu.retiring), read without the lock on every call
	answers   rpcwire.Answers // whether a session answered while a call waited
}

// retireTimeout bounds how long a dropped session is left open.
const retireTimeout = 30 * time.Second

var _ RPCer = (*RPCClient)(nil)

// RPCOption configures an RPCClient.
type RPCOption func(*RPCClient)

// RPCWithTLS makes every connection to a server mutual TLS, configured by
// config at each dial (tlsutil.Store.OutgoingRPC, so reloaded certificates
// apply to the next connection).
func RPCWithTLS(config func() *tls.Config) RPCOption {
	return func(c *RPCClient) { c.tlsConfig = config }
}

// NewRPCClient returns a client of the servers at the given RPC addresses
// ("host:port"). It does not connect until the first call. With no address,
// calls fail with ErrNoServers until SetServers gives some (a client agent
// that finds the servers through gossip).
func NewRPCClient(servers []string, logger *slog.Logger, opts ...RPCOption) (*RPCClient, error) {
	for i, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("client: rpc client: servers[%d] = %q: must be host:port: %w", i, s, err)
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = nil
	cfg.Logger = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	c := &RPCClient{logger: logger, yamuxCfg: cfg, seeds: append([]string(nil), servers...)}
	for _, o := range opts {
		o(c)
	}
	c.mu.servers = append([]string(nil), servers...)
	return c, nil
}

// SetServers replaces the list of servers to fail over between with servers
// (the RPC addresses the servers report, in Node.Register and heartbeat
// replies), followed by the addresses the client was started with that are
// not among them. Invalid addresses are dropped; an empty list changes
// nothing. The current connection is kept.
func (c *RPCClient) SetServers(servers []string) {
	var list []string
	seen := map[string]bool{}
	for _, s := range append(append([]string(nil), servers...), c.seeds...) {
		if _, _, err := net.SplitHostPort(s); err != nil || seen[s] {
			continue
		}
		seen[s] = true
		list = append(list, s)
	}
	if len(servers) == 0 || len(list) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Equal(list, c.mu.servers) {
		return
	}
	c.mu.servers = list
	c.mu.next = max(0, slices.Index(list, c.mu.addr))
	c.logger.Debug("server list updated", "servers", list)
}

// Servers returns the list of servers the client fails over between.
func (c *RPCClient) Servers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.mu.servers...)
}

// RPC calls method with args and fills reply, within ctx (its deadline is
// the call's; cancelling it abandons the call and cancels it on the server).
// An error the server's method returned comes back as a *structs.Error with
// its code. A connection that fails is dropped; a call whose stream failed on
// a session that had served earlier calls is tried once more on a new
// connection, since the session may have died unnoticed (a server restart).
func (c *RPCClient) RPC(ctx context.Context, method string, args, reply any) error {
	for attempt := 0; ; attempt++ {
		sess, fresh, err := c.getSession(ctx)
		if err != nil {
			return err
		}
		mark := c.answers.Mark()
		err = rpcwire.Call(ctx, sess, method, args, reply)
		var coded *structs.Error
		if err == nil || errors.As(err, &coded) {
			c.answers.Answered(sess)
			if c.nRetiring.Load() > 0 {
				c.closeRetiring(sess)
			}
			return err
		}
		if ctx.Err() != nil {
			// A server that let the deadline pass is not answering: the next
			// call goes to the next server. Unless it answered other calls
			// of this session meanwhile: then this call was slow (it waited
			// for a leader), the session is alive, and dropping it would
			// fail every other call on it. A caller that merely gave up
			// (shutdown) says nothing about the server.
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && !c.answers.Since(sess, mark) {
				c.dropSession(sess, err)
			}
			return fmt.Errorf("rpc %s: %w", method, err)
		}
		c.dropSession(sess, err)
		if fresh || attempt > 0 {
			return fmt.Errorf("rpc %s: %w", method, err)
		}
	}
}

// dialAttempt is one connection attempt; done is closed once its outcome
// is set: sess, or err (gaveUp: the dialing call's context ended first).
type dialAttempt struct {
	done   chan struct{}
	sess   *yamux.Session
	err    error
	gaveUp bool
}

// getSession returns the shared session, connecting first if there is none.
// fresh reports that the session is new: made by this call, or by the
// attempt it waited for.
func (c *RPCClient) getSession(ctx context.Context) (sess *yamux.Session, fresh bool, err error) {
	for {
		c.mu.Lock()
		if c.mu.closed {
			c.mu.Unlock()
			return nil, false, ErrRPCClosed
		}
		if s := c.mu.session; s != nil && !s.IsClosed() {
			c.mu.Unlock()
			return s, false, nil
		}
		d := c.mu.dialing
		if d == nil {
			break // with the lock: this call dials
		}
		c.mu.Unlock()
		select {
		case <-d.done:
		case <-ctx.Done():
			return nil, false, fmt.Errorf("client: waiting for a connection to a server: %w", ctx.Err())
		}
		// The attempt of a caller that gave up (its deadline, a shutdown)
		// says nothing of the servers: try again with this call's.
		if !d.gaveUp {
			return d.sess, true, d.err
		}
	}
	servers := append([]string(nil), c.mu.servers...)
	first := c.mu.next
	d := &dialAttempt{done: make(chan struct{})}
	c.mu.dialing = d
	c.mu.Unlock()

	d.sess, d.err = c.dial(ctx, servers, first)
	d.gaveUp = d.err != nil && ctx.Err() != nil
	c.mu.Lock()
	c.mu.dialing = nil
	c.mu.Unlock()
	close(d.done)
	return d.sess, d.sess != nil, d.err
}

// dial connects to the first of servers (from index first on) that answers
// and makes it the shared session, without the lock.
func (c *RPCClient) dial(ctx context.Context, servers []string, first int) (*yamux.Session, error) {
	if len(servers) == 0 {
		return nil, ErrNoServers
	}
	var errs []error
	for i := range servers {
		idx := (first + i) % len(servers)
		dctx, cancel := context.WithTimeout(ctx, rpcDialTimeout)
		var tlsCfg *tls.Config
		if c.tlsConfig != nil {
			tlsCfg = c.tlsConfig()
		}
		s, err := rpcwire.Dial(dctx, servers[idx], c.yamuxCfg, tlsCfg)
		cancel()
		if err != nil {
			c.logger.Warn("cannot reach server", "server", servers[idx], "error", err)
			errs = append(errs, err)
			continue
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.mu.closed {
			s.Close()
			return nil, ErrRPCClosed
		}
		c.mu.session, c.mu.addr, c.mu.next = s, servers[idx], idx
		go c.acceptStreams(s)
		c.logger.Debug("connected to server", "server", servers[idx])
		return s, nil
	}
	return nil, fmt.Errorf("client: no server reachable: %w", errors.Join(errs...))
}

// dropSession drops sess after a failure: if it is still the shared one,
// the next call connects to the next server and the session-lost hook runs
// (a client heartbeats at once); sess itself is closed once a call succeeds
// on a newer session (closeRetiring), or after retireTimeout.
func (c *RPCClient) dropSession(sess *yamux.Session, cause error) {
	c.mu.Lock()
	addr := c.mu.addr
	current := c.forgetLocked(sess)
	if current {
		c.logger.Warn("dropping connection to server", "server", addr, "error", cause)
	}
	retire := current && !c.mu.closed && !sess.IsClosed()
	if retire {
		c.mu.retiring = append(c.mu.retiring, sess)
		c.nRetiring.Store(int32(len(c.mu.retiring)))
	}
	retiring := retire || slices.Contains(c.mu.retiring, sess)
	closed, onLost := c.mu.closed, c.mu.onLost
	c.mu.Unlock()
	if retire {
		time.AfterFunc(retireTimeout, func() { c.closeRetiring(nil) })
	} else if !retiring {
		sess.Close()
	}
	if current && !closed && onLost != nil {
		go onLost()
	}
}

// forgetLocked forgets sess if it is the shared session, so that the next
// call connects to the next server, and reports whether it was. c.mu is
// held.
func (c *RPCClient) forgetLocked(sess *yamux.Session) bool {
	if c.mu.session != sess {
		return false
	}
	c.mu.session = nil
	c.mu.next = (c.mu.next + 1) % max(1, len(c.mu.servers))
	return true
}

// closeRetiring closes the dropped sessions once a call succeeded on the
// shared session newer (nil: at once, all of them). A call that succeeded on
// a dropped session itself proves nothing of the next one.
func (c *RPCClient) closeRetiring(newer *yamux.Session) {
	c.mu.Lock()
	if newer != nil && c.mu.session != newer {
		c.mu.Unlock()
		return
	}
	done := c.mu.retiring
	c.mu.retiring = nil
	c.nRetiring.Store(0)
	c.mu.Unlock()
	for _, s := range done {
		s.Close()
	}
}

// OnSessionLost makes f be called, on its own goroutine, each time the
// connection to a server ends other than by Close: the server closed it
// (it stopped, or its keepalive went unanswered), the network failed, or a
// call's failure dropped it. The next call connects to the next server. A
// client heartbeats at once from f: the servers give a node whose
// connection ended only a short grace to heartbeat again
// (server/session_liveness.go).
func (c *RPCClient) OnSessionLost(f func()) {
	c.mu.Lock()
	c.mu.onLost = f
	c.mu.Unlock()
}

// sessionEnded forgets sess, which ended, if it is still the shared
// session (the next call connects to the next server), and calls the
// session-lost hook unless the client was closed.
func (c *RPCClient) sessionEnded(sess *yamux.Session) {
	c.mu.Lock()
	current := c.forgetLocked(sess)
	c.mu.retiring = slices.DeleteFunc(c.mu.retiring, func(s *yamux.Session) bool { return s == sess })
	c.nRetiring.Store(int32(len(c.mu.retiring)))
	closed, onLost := c.mu.closed, c.mu.onLost
	c.mu.Unlock()
	// A dropped session ran the hook when it was dropped.
	if current && !closed && onLost != nil {
		go onLost()
	}
}

// Close closes the connection; calls in flight fail, later calls return
// ErrRPCClosed.
func (c *RPCClient) Close() error {
	c.mu.Lock()
	s := c.mu.session
	c.mu.session = nil
	c.mu.closed = true
	c.mu.Unlock()
	c.closeRetiring(nil)
	if s != nil {
		return s.Close()
	}
	return nil
}
