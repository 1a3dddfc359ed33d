package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/rpc"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/rpcwire"
)

// poolDialTimeout bounds connecting to another server's RPC port.
const poolDialTimeout = 5 * time.Second

// connPool holds one multiplexed RPC session per remote server, opened on
// first use and dropped when it fails: the server's own small version of
// client.RPCClient (same framing: the RPCTypeMultiplex byte, a yamux session,
// one msgpack net/rpc connection per stream). Safe for concurrent use.
type connPool struct {
	logger   *slog.Logger
	yamuxCfg *yamux.Config

	mu       sync.Mutex
	sessions map[string]*yamux.Session
	closed   bool
}

func newConnPool(logger *slog.Logger) *connPool {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = nil
	cfg.Logger = newStdLogger(logger, "yamux")
	return &connPool{logger: logger, yamuxCfg: cfg, sessions: make(map[string]*yamux.Session)}
}

// RPC calls method on the server at addr. An error the remote method returned
// comes back as an rpc.ServerError. A call that fails on a session that had
// served earlier calls is tried once more on a new one, since the remote
// server may have restarted since.
func (p *connPool) RPC(addr, method string, args, reply any) error {
	for attempt := 0; ; attempt++ {
		sess, fresh, err := p.session(addr)
		if err != nil {
			return err
		}
		err = p.call(sess, method, args, reply)
		var serverErr rpc.ServerError
		if err == nil || errors.As(err, &serverErr) {
			return err
		}
		p.drop(addr, sess)
		if fresh || attempt > 0 {
			return fmt.Errorf("server: rpc %s to %s: %w", method, addr, err)
		}
	}
}

func (p *connPool) call(sess *yamux.Session, method string, args, reply any) error {
	return rpcwire.Call(sess, method, args, reply)
}

// session returns the session to addr, dialing when there is none; fresh
// reports that this call dialed it.
func (p *connPool) session(addr string) (*yamux.Session, bool, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, errors.New("server: connection pool closed")
	}
	if s := p.sessions[addr]; s != nil && !s.IsClosed() {
		p.mu.Unlock()
		return s, false, nil
	}
	p.mu.Unlock()

	s, err := p.dial(addr)
	if err != nil {
		return nil, false, fmt.Errorf("server: connecting to server %s: %w", addr, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		s.Close()
		return nil, false, errors.New("server: connection pool closed")
	}
	if cur := p.sessions[addr]; cur != nil && !cur.IsClosed() {
		s.Close() // another call connected meanwhile: keep one session
		return cur, false, nil
	}
	p.sessions[addr] = s
	return s, true, nil
}

func (p *connPool) dial(addr string) (*yamux.Session, error) {
	return rpcwire.Dial(addr, poolDialTimeout, p.yamuxCfg)
}

// drop forgets and closes sess if it is still addr's session.
func (p *connPool) drop(addr string, sess *yamux.Session) {
	p.mu.Lock()
	if p.sessions[addr] == sess {
		delete(p.sessions, addr)
	}
	p.mu.Unlock()
	sess.Close()
}

// Close closes every session; calls in flight fail, later calls fail at once.
func (p *connPool) Close() {
	p.mu.Lock()
	p.closed = true
	list := make([]*yamux.Session, 0, len(p.sessions))
	for _, s := range p.sessions {
		list = append(list, s)
	}
	p.sessions = map[string]*yamux.Session{}
	p.mu.Unlock()
	for _, s := range list {
		s.Close()
	}
}
