package client

import (
	"context"
	"io"
	"sync"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// The client endpoints (structs/client_rpc.go): what a server asks of the
// client that runs an allocation. The server opens a stream in the yamux
// session this client holds to it (RPCClient serves the streams servers open)
// or, for a server in the same process, calls ServeStream on a pipe; either
// way one stream carries one streaming call (internal/rpcwire).

// streamServer is an RPCer that also carries calls the other way: the
// RPCClient (network) or the in-process server of a combined agent.
type streamServer interface {
	// ServeClientStreams has serve called, on a goroutine of its own, with
	// every stream a server opens to this client.
	ServeClientStreams(nodeID string, serve func(io.ReadWriteCloser))
}

// ServeStream serves one streaming call on conn and closes it. A server
// opened conn; the call starts with rpcwire.StreamMarker.
func (c *Client) ServeStream(conn io.ReadWriteCloser) {
	defer conn.Close()
	var marker [1]byte
	if _, err := io.ReadFull(conn, marker[:]); err != nil || marker[0] != rpcwire.StreamMarker {
		return
	}
	method, st, err := rpcwire.ReadStreamHeader(conn)
	if err != nil {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	if err := c.serveCall(ctx, cancel, method, st); err != nil {
		c.logger.Debug("client endpoint call ended", "method", method, "error", err)
	}
}

// serveCall reads the args of method, answers, and sends the frames.
func (c *Client) serveCall(ctx context.Context, cancel context.CancelFunc, method string, st *rpcwire.Stream) error {
	// recvArgs decodes the arguments and then watches for the caller
	// hanging up, which cancels ctx.
	recvArgs := func(v any) error {
		if err := st.Recv(v); err != nil {
			return st.Answer(structs.NewError(structs.CodeInvalid, "decoding the arguments of %s: %v", method, err))
		}
		st.WatchHangup(cancel)
		return nil
	}
	// one answers err, or yes and then the single frame v.
	one := func(v any, err error) error {
		if err != nil {
			return st.Answer(err)
		}
		if err := st.Answer(nil); err != nil {
			return err
		}
		return st.Send(v)
	}
	send := func(f *structs.StreamFrame) error { return st.Send(f) }

	switch method {
	case structs.ClientFSList, structs.ClientFSStat, structs.ClientFSCat:
		var args structs.FSRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		switch method {
		case structs.ClientFSList:
			return one(c.fsList(&args))
		case structs.ClientFSStat:
			return one(c.fsStat(&args))
		}
		f, err := c.fsOpen(&args)
		if err != nil {
			return st.Answer(err)
		}
		defer f.Close()
		if err := st.Answer(nil); err != nil {
			return err
		}
		return sendFile(ctx, f, f.Name(), args.Limit, send)
	case structs.ClientFSLogs:
		var args structs.FSLogsRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		if err := c.checkLogsRequest(&args); err != nil {
			return st.Answer(err)
		}
		if err := st.Answer(nil); err != nil {
			return err
		}
		return c.streamLogs(ctx, &args, send)
	case structs.ClientAllocRestart:
		var args structs.AllocRestartRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		return one(&structs.GenericResponse{}, c.restartAlloc(&args))
	case structs.ClientAllocSignal:
		var args structs.AllocSignalRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		return one(&structs.GenericResponse{}, c.signalAlloc(&args))
	case structs.ClientAgentKeyring:
		var args structs.ClientKeyringRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		return one(c.applyKeyring(&args))
	case structs.ClientAllocGC:
		var args structs.AllocGCRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		return one(&structs.GenericResponse{}, c.GCAlloc(args.AllocID))
	case structs.ClientNodeGC:
		var args structs.NodeGCRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		return one(&structs.NodeGCResponse{Collected: c.GC()}, nil)
	case structs.ClientNodeMetaRead:
		var args structs.NodeMetaReadRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		return one(c.NodeMeta())
	case structs.ClientNodeMetaApply:
		var args structs.NodeMetaApplyRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		return one(c.ApplyNodeMeta(args.Meta))
	case structs.ClientAllocChecks:
		var args structs.AllocChecksRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		if _, err := c.runner(args.AllocID); err != nil {
			return st.Answer(err)
		}
		return one(c.AllocChecks(args.AllocID), nil)
	case structs.ClientAllocExec:
		var args structs.ExecRequest
		if err := st.Recv(&args); err != nil {
			return st.Answer(structs.NewError(structs.CodeInvalid, "decoding the arguments of %s: %v", method, err))
		}
		return c.execAlloc(ctx, cancel, &args, st)
	case structs.ClientAgentMonitor, structs.ClientAgentProfile:
		args, _ := structs.NewClientCallArgs(method)
		if err := recvArgs(args); err != nil {
			return err
		}
		if c.cfg.AgentCalls == nil {
			return st.Answer(structs.NewError(structs.CodeInvalid, "%s: this client agent serves no agent calls", method))
		}
		return c.cfg.AgentCalls(ctx, method, args, st)
	case structs.ClientAllocStats:
		var args structs.AllocStatsRequest
		if err := recvArgs(&args); err != nil {
			return err
		}
		return one(c.allocStats(ctx, &args))
	}
	var skip struct{}
	_ = st.Recv(&skip)
	return st.Answer(structs.NewError(structs.CodeInvalid, "unknown client method %q", method))
}

// runner returns the runner of allocID, or a not-found error.
func (c *Client) runner(allocID string) (*runnerEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.mu.runners[allocID]
	if e == nil {
		return nil, structs.NewError(structs.CodeNotFound, "allocation %q is not on node %s", allocID, c.nodeID)
	}
	return e, nil
}

func (c *Client) restartAlloc(args *structs.AllocRestartRequest) error {
	e, err := c.runner(args.AllocID)
	if err != nil {
		return err
	}
	task := args.TaskName
	if args.AllTasks {
		task = ""
	}
	return e.ar.RestartTasks(task)
}

func (c *Client) signalAlloc(args *structs.AllocSignalRequest) error {
	e, err := c.runner(args.AllocID)
	if err != nil {
		return err
	}
	sig := args.Signal
	if sig == "" {
		sig = "SIGKILL"
	}
	return e.ar.SignalTasks(args.Task, sig)
}

// ServeClientStreams makes the RPC client serve, with serve, every stream a
// server opens in a session to it: the way back to this client for the
// client endpoints. Call it before the first RPC.
func (c *RPCClient) ServeClientStreams(_ string, serve func(io.ReadWriteCloser)) {
	c.serveMu.Lock()
	c.serve = serve
	c.serveMu.Unlock()
}

// acceptStreams serves the streams a server opens in sess until it closes.
// Runs on its own goroutine, one per session.
func (c *RPCClient) acceptStreams(sess *yamux.Session) {
	for {
		stream, err := sess.AcceptStream()
		if err != nil {
			c.sessionEnded(sess) // AcceptStream fails only once the session ended
			return
		}
		c.serveMu.Lock()
		serve := c.serve
		c.serveMu.Unlock()
		if serve == nil {
			stream.Close()
			continue
		}
		go serve(stream)
	}
}

// serveFields are RPCClient's fields for the reverse direction.
type serveFields struct {
	serveMu sync.Mutex
	serve   func(io.ReadWriteCloser)
}

// DialNode opens a stream to the client endpoints of another node's client,
// through the server this client is connected to (a client-only agent's
// HTTP API serving a request about an allocation on another node), for the
// call req names, which the server authorizes. ctx bounds the dial and the
// stream's life.
func (c *RPCClient) DialNode(ctx context.Context, req *structs.DialNodeRequest) (io.ReadWriteCloser, error) {
	stream, err := c.DialServer(ctx)
	if err != nil {
		return nil, err
	}
	st, err := rpcwire.OpenStream(ctx, stream, structs.ServerDialNode, req)
	if err != nil {
		return nil, err
	}
	return st.Conn(), nil
}

// DialServer opens a stream to the streaming endpoints of the server this
// client is connected to, on which the caller opens one agent debugging
// call (structs.AgentMonitor, AgentProfile; the server authorizes it and
// passes it on to the server it names). ctx bounds the dial.
func (c *RPCClient) DialServer(ctx context.Context) (io.ReadWriteCloser, error) {
	sess, _, err := c.getSession(ctx)
	if err != nil {
		return nil, err
	}
	stream, err := rpcwire.OpenSessionStream(ctx, sess)
	if err != nil {
		if ctx.Err() == nil {
			c.dropSession(sess, err)
		}
		return nil, err
	}
	return stream, nil
}
