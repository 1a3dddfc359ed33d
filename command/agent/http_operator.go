package agent

import (
	"io"
	"net/http"
	"strconv"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/jobspec"
	"github.com/orch-io/orch/structs"
)

// maxOperatorBody bounds the body of an operator write.
const maxOperatorBody = 1 << 20

// schedulerConfigGet is GET /v1/operator/scheduler/configuration →
// Operator.SchedulerGetConfiguration. The body is Nomad's:
// {"SchedulerConfig": {...}, "Index": N, "KnownLeader": ..., "LastContact": ...}.
func (s *HTTPServer) schedulerConfigGet(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.SchedulerConfigurationResponse
	if err := s.backend.RPC(r.Context(), "Operator.SchedulerGetConfiguration", &structs.GenericRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: reply.QueryMeta}, nil
}

// schedulerConfigPut is PUT/POST /v1/operator/scheduler/configuration[?cas=N]
// → Operator.SchedulerSetConfiguration. The body is the configuration itself
// (as in Nomad); fields it leaves out take their zero value. With ?cas=N the
// write happens only if the stored configuration's ModifyIndex is N. The
// answer is {"Updated": bool, "Index": N}.
func (s *HTTPServer) schedulerConfigPut(r *http.Request) (any, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxOperatorBody+1))
	if err != nil {
		return nil, badRequest("reading the body: %v", err)
	}
	if len(data) > maxOperatorBody {
		return nil, badRequest("body larger than %d bytes", maxOperatorBody)
	}
	var wire api.SchedulerConfiguration
	if err := jobspec.DecodeJSON(data, &wire); err != nil { // strict: unknown fields are errors
		return nil, badRequest("invalid scheduler configuration JSON: %v", err)
	}
	if err := api.CheckSupported("", &wire); err != nil {
		return nil, badRequest("invalid scheduler configuration: %v", err)
	}
	cfg := api.SchedulerConfigToStructs(&wire)
	if err := cfg.Validate(); err != nil {
		return nil, badRequest("invalid scheduler configuration: %v", err)
	}
	req := &structs.SchedulerSetConfigRequest{Config: cfg, WriteRequest: writeRequest(r)}
	if v := r.URL.Query().Get("cas"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, badRequest("invalid cas %q: must be a non-negative integer (the ModifyIndex to replace)", v)
		}
		req.CAS, req.Config.ModifyIndex = true, n
	}
	var reply structs.SchedulerSetConfigurationResponse
	if err := s.backend.RPC(r.Context(), "Operator.SchedulerSetConfiguration", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}
