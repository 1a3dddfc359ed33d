// Package rpcwire is the calling side of orch's RPC protocol, shared by the
// client agent (reaching servers) and the servers (forwarding to the leader):
// a TCP connection to the RPC port opened with the multiplex byte, one yamux
// session over it, and one msgpack net/rpc call per yamux stream. The serving
// side is server/rpc.go.
package rpcwire

import (
	"fmt"
	"net"
	"net/rpc"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/structs"
)

// Dial opens a multiplexed RPC session to addr (host:port of an RPC port).
// timeout bounds the TCP connect and the write of the protocol byte.
func Dial(addr string, timeout time.Duration, cfg *yamux.Config) (*yamux.Session, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if err = conn.SetWriteDeadline(time.Now().Add(timeout)); err == nil {
		_, err = conn.Write([]byte{structs.RPCTypeMultiplex})
		if err == nil {
			err = conn.SetWriteDeadline(time.Time{})
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	s, err := yamux.Client(conn, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return s, nil
}

// Call makes one call of method ("Job.Register") on a new stream of sess,
// and closes the stream. An error from the endpoint comes back as an
// rpc.ServerError holding its text.
func Call(sess *yamux.Session, method string, args, reply any) error {
	stream, err := sess.OpenStream()
	if err != nil {
		return err
	}
	rc := rpc.NewClientWithCodec(codec.MsgpackSpecRpc.ClientCodec(stream, structs.MsgpackHandle))
	defer rc.Close() // closes the stream
	return rc.Call(method, args, reply)
}
