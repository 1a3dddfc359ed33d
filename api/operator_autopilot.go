package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/orch-io/orch/structs"
)

// AutopilotGetConfiguration returns the cluster's autopilot configuration.
func (o *Operator) AutopilotGetConfiguration(q *QueryOptions) (*structs.AutopilotConfig, *QueryMeta, error) {
	var wire AutopilotConfiguration
	meta, err := o.c.query("/v1/operator/autopilot/configuration", q, &wire)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := AutopilotConfigToStructs(&wire)
	if err != nil {
		return nil, nil, fmt.Errorf("decoding the autopilot configuration from %s: %w", o.c.Address(), err)
	}
	return &cfg, meta, nil
}

// AutopilotSetConfiguration replaces the autopilot configuration.
func (o *Operator) AutopilotSetConfiguration(cfg *structs.AutopilotConfig) error {
	var ok bool
	return o.c.write(http.MethodPut, "/v1/operator/autopilot/configuration", nil, AutopilotConfigFromStructs(cfg), &ok)
}

// AutopilotCASConfiguration replaces the autopilot configuration only if the
// stored one's ModifyIndex is cfg.ModifyIndex, and reports whether it did.
func (o *Operator) AutopilotCASConfiguration(cfg *structs.AutopilotConfig) (bool, error) {
	var ok bool
	params := url.Values{"cas": {strconv.FormatUint(cfg.ModifyIndex, 10)}}
	if err := o.c.write(http.MethodPut, "/v1/operator/autopilot/configuration", params, AutopilotConfigFromStructs(cfg), &ok); err != nil {
		return false, err
	}
	return ok, nil
}

// AutopilotServerHealth returns the health of the servers as the leader's
// autopilot sees them. The agent answers an unhealthy cluster with status
// 429 and the same body (as Nomad's): that is a reply here, not an error.
func (o *Operator) AutopilotServerHealth(q *QueryOptions) (*structs.OperatorHealthReply, *QueryMeta, error) {
	const path = "/v1/operator/autopilot/health"
	var wire OperatorHealthReply
	meta, err := o.c.query(path, q, &wire)
	var apiErr *Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests {
		wire = OperatorHealthReply{}
		if jerr := json.Unmarshal([]byte(apiErr.Message), &wire); jerr != nil {
			return nil, nil, err
		}
		meta, err = &QueryMeta{}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	out, err := OperatorHealthToStructs(&wire)
	if err != nil {
		return nil, nil, fmt.Errorf("decoding the response of %s from %s: %w", path, o.c.Address(), err)
	}
	return out, meta, nil
}
