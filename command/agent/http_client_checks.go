package agent

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// allocChecks is GET /v1/client/allocation/:id/checks: the latest result
// of each check of the allocation, keyed by check ID (toWire), as Nomad
// answers it. The client of the allocation's node runs the checks: the
// agent asks it as it does for the allocation's files (http_client_fs.go),
// with read-job in the allocation's namespace.
func (s *HTTPServer) allocChecks(r *http.Request) (any, error) {
	var out []*structs.CheckQueryResult
	err := s.clientUnary(r, structs.ClientAllocChecks, func(id string) any { return &structs.AllocChecksRequest{AllocID: id} }, &out)
	if err != nil {
		return nil, err
	}
	return out, nil
}
