package server

import (
	"context"
	"io"
	"net"
	"strings"

	"github.com/hashicorp/memberlist"
	"github.com/orch-io/orch/acl"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// Agent debugging calls (structs/agent_debug.go): a server's agent's live
// log and profiles. The server a call reaches authorizes it (agent:read to
// monitor, agent:write to profile), and either hands it to its agent
// (Config.AgentCalls) when it is the server named, or passes it, marked
// forwarded, to the one that is, which decides again and answers; the
// stream is then piped through.

// AgentCallFunc serves an authorized agent debugging call: method with its
// decoded args (*structs.MonitorRequest or *structs.ProfileRequest). It
// answers on st (Answer, then frames) and returns when done or when ctx
// ends.
type AgentCallFunc func(ctx context.Context, method string, args any, st *rpcwire.Stream) error

// DialAgent returns a byte stream to this server's streaming endpoints, in
// process, on which the caller opens one agent debugging call
// (rpcwire.OpenStream); the caller closes it.
func (s *Server) DialAgent() io.ReadWriteCloser {
	mine, theirs := net.Pipe()
	go func() {
		var marker [1]byte
		if _, err := io.ReadFull(theirs, marker[:]); err != nil || marker[0] != rpcwire.StreamMarker {
			theirs.Close()
			return
		}
		s.serveStreamCall(s.shutdownCtx, theirs)
	}()
	return mine
}

// serveAgentCall serves an Agent.Monitor or Agent.Profile call whose
// header has been read from st.
func (s *Server) serveAgentCall(ctx context.Context, method string, st *rpcwire.Stream) {
	defer st.Close()
	var (
		args      any
		serverID  string
		forwarded bool
		token     string
		allow     func(*acl.ACL) bool
	)
	switch method {
	case structs.AgentMonitor:
		var a structs.MonitorRequest
		if err := st.Recv(&a); err != nil {
			_ = st.Answer(structs.NewError(structs.CodeInvalid, "decoding the arguments of %s: %v", method, err))
			return
		}
		args, serverID, forwarded, token, allow = &a, a.ServerID, a.Forwarded, a.AuthToken, (*acl.ACL).AllowAgentRead
	default:
		var a structs.ProfileRequest
		if err := st.Recv(&a); err != nil {
			_ = st.Answer(structs.NewError(structs.CodeInvalid, "decoding the arguments of %s: %v", method, err))
			return
		}
		args, serverID, forwarded, token, allow = &a, a.ServerID, a.Forwarded, a.AuthToken, (*acl.ACL).AllowAgentWrite
	}
	if s.config.ACLEnabled {
		z := &authz{srv: s, snap: s.state.Snapshot(), secret: token}
		if err := z.allow(allow); err != nil {
			_ = st.Answer(err)
			return
		}
	}
	if s.isServerNamed(serverID) {
		if s.config.AgentCalls == nil {
			_ = st.Answer(structs.NewError(structs.CodeInvalid, "%s: server %s does not serve agent calls", method, s.config.NodeName))
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if err := s.config.AgentCalls(ctx, method, args, st); err != nil {
			s.logger.Debug("agent call ended", "method", method, "error", err)
		}
		return
	}
	if forwarded {
		_ = st.Answer(structs.NewError(structs.CodeNotFound, "%s: server_id %q is not server %s", method, serverID, s.config.NodeName))
		return
	}
	addr, err := s.serverAddrNamed(serverID)
	if err != nil {
		_ = st.Answer(err)
		return
	}
	sess, _, err := s.pool.session(ctx, addr)
	if err != nil {
		_ = st.Answer(structs.NewError(structs.CodeInternal, "%s: reaching server %s: %v", method, serverID, err))
		return
	}
	stream, err := rpcwire.OpenSessionStream(ctx, sess)
	if err != nil {
		if ctx.Err() == nil {
			s.pool.drop(addr, sess)
		}
		_ = st.Answer(structs.NewError(structs.CodeInternal, "%s: reaching server %s: %v", method, serverID, err))
		return
	}
	switch a := args.(type) {
	case *structs.MonitorRequest:
		a.Forwarded = true
	case *structs.ProfileRequest:
		a.Forwarded = true
	}
	if err := rpcwire.StartStream(stream, method, args); err != nil {
		stream.Close()
		_ = st.Answer(structs.NewError(structs.CodeInternal, "%s: reaching server %s: %v", method, serverID, err))
		return
	}
	// The target's answer and frames pass through as bytes.
	stop := context.AfterFunc(ctx, func() { stream.Close(); st.Conn().Close() })
	defer stop()
	rpcwire.Splice(st.Conn(), stream)
}

// isServerNamed reports whether id names this server: "", its node name
// (with or without the region suffix), its Raft server ID, or "leader"
// while it leads.
func (s *Server) isServerNamed(id string) bool {
	switch id {
	case "", s.config.NodeName, string(s.raftID):
		return true
	case structs.ServerIDLeader:
		return s.Leader() != "" && s.Leader() == s.RPCAddr()
	}
	return strings.TrimSuffix(id, "."+s.config.Region) == strings.TrimSuffix(s.config.NodeName, "."+s.config.Region)
}

// serverAddrNamed is the RPC address of the live server of this region id
// names (see isServerNamed), or a not-found error listing the names known.
func (s *Server) serverAddrNamed(id string) (string, error) {
	if id == structs.ServerIDLeader {
		if l := s.Leader(); l != "" {
			return l, nil
		}
		return "", structs.NewError(structs.CodeNoLeader, "server_id = %q: no known leader", id)
	}
	var names []string
	for _, m := range s.serverMembers() {
		if m.State != memberlist.StateAlive {
			continue
		}
		names = append(names, m.Name)
		bare := strings.TrimSuffix(m.Name, "."+s.config.Region)
		if m.Name == id || bare == strings.TrimSuffix(id, "."+s.config.Region) || m.Tags[TagServerID] == id {
			return m.Tags[TagRPCAddr], nil
		}
	}
	return "", structs.NewError(structs.CodeNotFound, "server_id = %q: no live server of that name (servers: %s, or %q)",
		id, strings.Join(names, ", "), structs.ServerIDLeader)
}
