package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/orch-io/orch/internal/gossipkey"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// keyringEndpoint changes and lists the gossip keyring of every server
// (`orch operator gossip keyring`). The server a call reaches applies it
// and passes it on, marked Local, to every other server gossip shows alive
// in its region, in parallel; the reply counts each key's holders. A
// rotation is install (every server can then read the new key), use (they
// send with it), remove (the old one): each step must have reached every
// server before the next, which the reply's NumNodes and Messages tell.
type keyringEndpoint struct{ srv *Server }

// List reports the keys installed on every server.
func (e *keyringEndpoint) List(ctx context.Context, args *structs.KeyringRequest, reply *structs.KeyringResponse) error {
	return e.srv.keyringOp(ctx, "Keyring.List", args, reply, func(*gossipkey.Ring, string) error { return nil })
}

// Install adds args.Key to every server's keyring.
func (e *keyringEndpoint) Install(ctx context.Context, args *structs.KeyringRequest, reply *structs.KeyringResponse) error {
	return e.srv.keyringOp(ctx, "Keyring.Install", args, reply, (*gossipkey.Ring).Install)
}

// Use makes args.Key, installed everywhere, the key every server sends with.
func (e *keyringEndpoint) Use(ctx context.Context, args *structs.KeyringRequest, reply *structs.KeyringResponse) error {
	return e.srv.keyringOp(ctx, "Keyring.Use", args, reply, (*gossipkey.Ring).Use)
}

// Remove removes args.Key, not in use, from every server's keyring.
func (e *keyringEndpoint) Remove(ctx context.Context, args *structs.KeyringRequest, reply *structs.KeyringResponse) error {
	return e.srv.keyringOp(ctx, "Keyring.Remove", args, reply, (*gossipkey.Ring).Remove)
}

// keyringOp applies op here and, unless args.Local, on the other servers;
// reply gathers what each server holds afterwards. A failure on any server
// is an error listing them (reply still says what each holds).
func (s *Server) keyringOp(ctx context.Context, method string, args *structs.KeyringRequest, reply *structs.KeyringResponse, op func(*gossipkey.Ring, string) error) error {
	if method != "Keyring.List" {
		if _, err := gossipkey.Parse(args.Key); err != nil {
			return structs.NewError(structs.CodeInvalid, "Key: %v", err)
		}
	}
	*reply = structs.KeyringResponse{Messages: map[string]string{}, Keys: map[string]int{}}
	var mu sync.Mutex
	// add counts the answer of one server (with the client agents it
	// reached) or one client agent.
	add := func(name string, r *structs.KeyringResponse, err error) {
		mu.Lock()
		defer mu.Unlock()
		reply.NumNodes += max(r.NumNodes, 1)
		for n, msg := range r.Messages {
			reply.Messages[n] = msg
		}
		if err != nil && len(r.Messages) == 0 {
			reply.Messages[name] = err.Error()
		}
		for k, n := range r.Keys {
			reply.Keys[k] += n
		}
	}
	var local structs.KeyringResponse
	localErr := s.keyringApplyLocal(args.Key, &local, op)
	var wg sync.WaitGroup
	// The client-only agents connected to this server follow it (every
	// server does this for its own: together they reach every client).
	// They are asked after this server applied the operation, so an
	// install reaches them only once a server can read the key.
	if localErr == nil {
		s.keyringClients(ctx, &wg, keyringOps[method], args.Key, add)
	}
	if args.Local {
		// This server's answer, with its clients' added.
		wg.Wait()
		add(s.config.NodeName, &local, localErr)
		return s.keyringResult(method, reply, localErr)
	}
	add(s.config.NodeName, &local, localErr)
	for _, m := range s.serverMembers() {
		if m.Name == s.config.NodeName || m.State != memberlist.StateAlive {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fwd := *args
			fwd.Local = true
			var r structs.KeyringResponse
			err := s.pool.RPC(ctx, m.Tags[TagRPCAddr], method, &fwd, &r)
			add(m.Name, &r, err)
		}()
	}
	wg.Wait()
	return s.keyringResult(method, reply, nil)
}

// keyringOps maps the keyring methods to the client agents' operations.
var keyringOps = map[string]string{
	"Keyring.List":    structs.KeyringOpList,
	"Keyring.Install": structs.KeyringOpInstall,
	"Keyring.Use":     structs.KeyringOpUse,
	"Keyring.Remove":  structs.KeyringOpRemove,
}

// keyringResult is the error of a keyring operation whose answers reply
// gathered: nil when every agent applied it. local, when set, is this
// server's own failure (the answer of a Local call).
func (s *Server) keyringResult(method string, reply *structs.KeyringResponse, local error) error {
	if len(reply.Messages) == 0 {
		return nil
	}
	if local != nil && len(reply.Messages) == 1 {
		return local
	}
	var msgs []string
	for _, name := range slices.Sorted(maps.Keys(reply.Messages)) {
		msgs = append(msgs, name+": "+reply.Messages[name])
	}
	code := structs.CodeInternal
	if len(reply.Messages) == reply.NumNodes {
		code = structs.CodeInvalid // refused everywhere: the request, not an agent, is at fault
	}
	return structs.NewError(code, "%s failed on %d of %d agents: %s", method, len(reply.Messages), reply.NumNodes, strings.Join(msgs, "; "))
}

// keyringClients applies a keyring operation, in parallel under wg, to every
// client-only agent whose connection this server holds, and adds each
// answer. The client of a combined agent shares the server's gossip and
// keyring: it is not asked.
func (s *Server) keyringClients(ctx context.Context, wg *sync.WaitGroup, op, key string, add func(string, *structs.KeyringResponse, error)) {
	s.nodeConns.mu.Lock()
	nodes := slices.Collect(maps.Keys(s.nodeConns.byNode))
	local := s.nodeConns.localNode
	s.nodeConns.mu.Unlock()
	for _, id := range nodes {
		if id == local {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "client " + id
			if n := s.state.Snapshot().NodeByID(id); n != nil {
				name = n.Name + " (client)"
			}
			var r structs.KeyringResponse
			err := s.callClientAgent(ctx, id, structs.ClientAgentKeyring, &structs.ClientKeyringRequest{Op: op, Key: key}, &r)
			if err != nil {
				r = structs.KeyringResponse{}
			}
			add(name, &r, err)
		}()
	}
}

// callClientAgent makes a one-answer client-agent call on the connection
// this server holds to nodeID's client.
func (s *Server) callClientAgent(ctx context.Context, nodeID, method string, args, reply any) error {
	ctx, cancel := context.WithTimeout(ctx, clientAgentCallTimeout)
	defer cancel()
	conn, err := s.dialNodeHere(ctx, nodeID)
	if err != nil {
		return err
	}
	st, err := rpcwire.OpenStream(ctx, conn, method, args)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Recv(reply)
}

// clientAgentCallTimeout bounds one client-agent call a server makes.
const clientAgentCallTimeout = 10 * time.Second

// keyringApplyLocal applies op to this server's keyring and lists it.
func (s *Server) keyringApplyLocal(key string, reply *structs.KeyringResponse, op func(*gossipkey.Ring, string) error) error {
	if s.keyring == nil {
		return structs.NewError(structs.CodeInvalid, "gossip encryption is not enabled on server %s: set server.encrypt on every agent and restart them (a keyring cannot be turned on at run time)", s.config.NodeName)
	}
	if err := op(s.keyring, key); err != nil {
		if errors.Is(err, gossipkey.ErrKeyNotInstalled) || errors.Is(err, gossipkey.ErrPrimaryKey) {
			return structs.NewError(structs.CodeInvalid, "%v", err)
		}
		return fmt.Errorf("server: keyring: %w", err)
	}
	if reply.Keys == nil {
		reply.Keys = map[string]int{}
	}
	keys, _ := s.keyring.List()
	for _, k := range keys {
		reply.Keys[k]++
	}
	reply.NumNodes = 1
	return nil
}
