package api

import (
	"net/http"
	"net/url"

	"github.com/orch-io/orch/structs"
)

// RaftGetConfiguration returns the servers of the Raft configuration.
func (o *Operator) RaftGetConfiguration(q *QueryOptions) (*structs.RaftConfigurationResponse, error) {
	var out structs.RaftConfigurationResponse
	if _, err := o.c.query("/v1/operator/raft/configuration", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RaftRemovePeerByID removes the server with this Raft ID from the Raft
// configuration.
func (o *Operator) RaftRemovePeerByID(id string) error {
	return o.c.write(http.MethodDelete, "/v1/operator/raft/peer", url.Values{"id": {id}}, nil, nil)
}

// RaftRemovePeerByAddress removes the server with this Raft address
// (host:port) from the Raft configuration.
func (o *Operator) RaftRemovePeerByAddress(addr string) error {
	return o.c.write(http.MethodDelete, "/v1/operator/raft/peer", url.Values{"address": {addr}}, nil, nil)
}

// RaftTransferLeadership hands leadership to the server with this Raft ID,
// or (id "") to the most up-to-date voter.
func (o *Operator) RaftTransferLeadership(id string) error {
	var params url.Values
	if id != "" {
		params = url.Values{"id": {id}}
	}
	return o.c.write(http.MethodPut, "/v1/operator/raft/transfer-leadership", params, nil, nil)
}
