package agent

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// The gossip keyring routes, Nomad's: GET /v1/agent/keyring/list and PUT
// /v1/agent/keyring/install|use|remove with {"Key": "<base64>"};
// each answers a KeyringResponse. The agent sends the operation to a server
// (its own, on a server agent), which applies it on every server
// (server/keyring_endpoint.go).

func (s *HTTPServer) registerKeyringRoutes() {
	s.mux.Handle("GET /v1/agent/keyring/list", s.wrap(s.keyringCall("Keyring.List")))
	for op, method := range map[string]string{"install": "Keyring.Install", "use": "Keyring.Use", "remove": "Keyring.Remove"} {
		s.mux.Handle("PUT /v1/agent/keyring/"+op, s.wrap(s.keyringCall(method)))
	}
}

// keyringCall is the handler of one keyring route.
func (s *HTTPServer) keyringCall(method string) func(r *http.Request) (any, error) {
	return func(r *http.Request) (any, error) {
		args := structs.KeyringRequest{WriteRequest: writeRequest(r)}
		if method != "Keyring.List" {
			if err := decodeBody(r, &args); err != nil {
				return nil, err
			}
			args.Local = false // never from the outside: the servers set it
		}
		var reply structs.KeyringResponse
		if err := s.backend.RPC(r.Context(), method, &args, &reply); err != nil {
			return nil, err
		}
		return &reply, nil
	}
}
