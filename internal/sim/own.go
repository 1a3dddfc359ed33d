package sim

import (
	"context"
	"io"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/netfault"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// ownSession is a node's own connection to one server, as a real client
// holds: the client's RPCs over one yamux session, on a connection that can
// fall silent (netfault.Silent) to stand for a host that died.
type ownSession struct {
	conn *netfault.Silent
	sess *yamux.Session
}

// dialOwn connects to the server at addr.
func dialOwn(ctx context.Context, addr string) (*ownSession, error) {
	raw, err := rpcwire.DialConn(ctx, addr, structs.RPCTypeMultiplex, nil)
	if err != nil {
		return nil, err
	}
	conn := netfault.NewSilent(raw)
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	framed := rpcwire.JoinFrames(conn)
	sess, err := yamux.Client(framed, cfg)
	if err != nil {
		framed.Close() // its writer goroutine too
		return nil, err
	}
	return &ownSession{conn: conn, sess: sess}, nil
}

// RPC implements client.RPCer.
func (o *ownSession) RPC(ctx context.Context, method string, args, reply any) error {
	return rpcwire.Call(ctx, o.sess, method, args, reply)
}
