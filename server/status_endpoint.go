package server

import "github.com/orch-io/orch/structs"

// statusEndpoint serves the "Status" RPC methods (structs/rpc.go).
type statusEndpoint struct {
	srv *Server
}

// Leader returns the RPC address of the cluster leader, "" when none is known.
func (s *statusEndpoint) Leader(args *structs.GenericRequest, reply *string) error {
	*reply = s.srv.Leader()
	return nil
}
