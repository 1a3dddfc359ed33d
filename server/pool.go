package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
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
	// tlsConfig gives each new connection its TLS configuration (nil: plain).
	tlsConfig func() *tls.Config

	mu       sync.Mutex
	sessions map[string]*yamux.Session
	closed   bool
	answers  rpcwire.Answers // whether a session answered while a call waited
}

func newConnPool(logger *slog.Logger, tlsConfig func() *tls.Config) *connPool {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = nil
	cfg.Logger = newStdLogger(logger, "yamux")
	return &connPool{logger: logger, yamuxCfg: cfg, tlsConfig: tlsConfig, sessions: make(map[string]*yamux.Session)}
}

// RPC calls method on the server at addr, within ctx. An error the remote
// method returned comes back as a *structs.Error with its code; a transport
// failure after the stream opened wraps rpcwire.ErrSent. A call whose stream
// cannot even open on a session that had served earlier calls is tried once
// more on a new one, since the remote server may have restarted since: it was
// not sent, so that is safe for writes too.
func (p *connPool) RPC(ctx context.Context, addr, method string, args, reply any) error {
	for attempt := 0; ; attempt++ {
		sess, fresh, err := p.session(ctx, addr)
		if err != nil {
			return err
		}
		mark := p.answers.Mark()
		err = rpcwire.Call(ctx, sess, method, args, reply)
		var coded *structs.Error
		if err == nil || errors.As(err, &coded) {
			p.answers.Answered(sess)
			return err
		}
		if ctx.Err() != nil {
			// The caller gave up (Call closed the stream, which cancels the
			// call on the server): that says nothing of the session, which
			// carries every other forwarded call. A deadline that passed
			// with nothing answered meanwhile is a server not answering.
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && !p.answers.Since(sess, mark) {
				p.drop(addr, sess)
			}
			return fmt.Errorf("server: rpc %s to %s: %w", method, addr, err)
		}
		p.drop(addr, sess)
		if fresh || attempt > 0 || errors.Is(err, rpcwire.ErrSent) {
			return fmt.Errorf("server: rpc %s to %s: %w", method, addr, err)
		}
	}
}

// session returns the session to addr, dialing when there is none; fresh
// reports that this call dialed it.
func (p *connPool) session(ctx context.Context, addr string) (*yamux.Session, bool, error) {
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

	dctx, cancel := context.WithTimeout(ctx, poolDialTimeout)
	s, err := rpcwire.Dial(dctx, addr, p.yamuxCfg, p.tlsConfig())
	cancel()
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
