package api

import (
	"errors"
	"net/http"

	"github.com/orch-io/orch/structs"
)

// Status is the /v1/status endpoints.
type Status struct{ c *Client }

// Status returns the status endpoints.
func (c *Client) Status() *Status { return &Status{c: c} }

// Leader returns the RPC address of the cluster's leader, "" when there is none.
func (s *Status) Leader() (string, error) {
	var out string
	_, err := s.c.query("/v1/status/leader", nil, &out)
	return out, err
}

// Agent is the /v1/agent endpoints of the agent the client talks to.
type Agent struct{ c *Client }

// Agent returns the agent endpoints.
func (c *Client) Agent() *Agent { return &Agent{c: c} }

// Members returns the agents in the gossip pool, as the agent sees them.
func (a *Agent) Members() (*structs.AgentMembersResponse, error) {
	var out structs.AgentMembersResponse
	if _, err := a.c.query("/v1/agent/members", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Self returns the agent's configuration, gossip member and stats
// (GET /v1/agent/self).
func (a *Agent) Self() (*structs.AgentSelf, error) {
	var out structs.AgentSelf
	if _, err := a.c.query("/v1/agent/self", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Health returns the health of the agent's server and client halves. An
// agent that is not ready answers 500 (older agents: 503) with the same body:
// that is a result here, not an error; check the Ok fields.
func (a *Agent) Health() (*structs.AgentHealthResponse, error) {
	var out structs.AgentHealthResponse
	_, err := a.c.query("/v1/agent/health", nil, &out)
	var apiErr *Error
	if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusInternalServerError || apiErr.StatusCode == http.StatusServiceUnavailable) {
		if derr := decodeString(apiErr.Message, &out); derr == nil && (out.Server != nil || out.Client != nil) {
			return &out, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListKeys lists the gossip keys installed on the servers
// (GET /v1/agent/keyring/list).
func (a *Agent) ListKeys() (*structs.KeyringResponse, error) {
	var out structs.KeyringResponse
	if _, err := a.c.query("/v1/agent/keyring/list", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// InstallKey adds a gossip key to every server's keyring.
func (a *Agent) InstallKey(key string) (*structs.KeyringResponse, error) {
	return a.keyringWrite("install", key)
}

// UseKey makes an installed key the one every server encrypts gossip with.
func (a *Agent) UseKey(key string) (*structs.KeyringResponse, error) {
	return a.keyringWrite("use", key)
}

// RemoveKey removes a key that is not in use from every server's keyring.
func (a *Agent) RemoveKey(key string) (*structs.KeyringResponse, error) {
	return a.keyringWrite("remove", key)
}

func (a *Agent) keyringWrite(op, key string) (*structs.KeyringResponse, error) {
	var out structs.KeyringResponse
	if err := a.c.write(http.MethodPut, "/v1/agent/keyring/"+op, nil, map[string]string{"Key": key}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
