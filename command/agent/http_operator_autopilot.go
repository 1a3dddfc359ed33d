package agent

import (
	"net/http"
	"strconv"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// autopilotConfigGet is GET /v1/operator/autopilot/configuration →
// Operator.AutopilotGetConfiguration. The body is Nomad's
// api.AutopilotConfiguration: the configuration itself, durations as text
// ("200ms").
func (s *HTTPServer) autopilotConfigGet(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.AutopilotConfigResponse
	if err := s.backend.RPC(r.Context(), "Operator.AutopilotGetConfiguration", &structs.GenericRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: api.AutopilotConfigFromStructs(&reply.Config), meta: reply.QueryMeta}, nil
}

// autopilotConfigPut is PUT/POST /v1/operator/autopilot/configuration[?cas=N]
// → Operator.AutopilotSetConfiguration. The body is the configuration (as
// in Nomad); fields it leaves out take their zero value, and zero durations
// and max trailing logs the defaults. With ?cas=N the write happens only if
// the stored configuration's ModifyIndex is N. The answer is a bare JSON
// boolean, as Nomad's: true without ?cas, else whether it was written.
func (s *HTTPServer) autopilotConfigPut(r *http.Request) (any, error) {
	var wire api.AutopilotConfiguration
	if err := decodeWireBody(r.Body, "autopilot configuration", &wire); err != nil {
		return nil, err
	}
	cfg, err := api.AutopilotConfigToStructs(&wire)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return nil, badRequest("invalid autopilot configuration: %v", err)
	}
	req := &structs.AutopilotSetConfigRequest{Config: cfg, WriteRequest: writeRequest(r)}
	if v := r.URL.Query().Get("cas"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, badRequest("invalid cas %q: must be a non-negative integer (the ModifyIndex to replace)", v)
		}
		req.CAS, req.Config.ModifyIndex = true, n
	}
	var reply structs.AutopilotSetConfigResponse
	if err := s.backend.RPC(r.Context(), "Operator.AutopilotSetConfiguration", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: reply.Updated, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// autopilotHealth is GET /v1/operator/autopilot/health → Operator.ServerHealth.
// The body is Nomad's OperatorHealthReply; as Nomad's, the status is 200
// when every server is healthy and 429 (with the same body) when not.
func (s *HTTPServer) autopilotHealth(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.OperatorHealthReply
	if err := s.backend.RPC(r.Context(), "Operator.ServerHealth", &structs.GenericRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	out := api.OperatorHealthFromStructs(&reply)
	if !reply.Healthy {
		return withStatus{code: http.StatusTooManyRequests, body: out}, nil
	}
	return out, nil
}
