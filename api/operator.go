package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/orch-io/orch/structs"
)

// Operator is the /v1/operator endpoints.
type Operator struct{ c *Client }

// Operator returns the operator endpoints.
func (c *Client) Operator() *Operator { return &Operator{c: c} }

// SchedulerGetConfiguration returns the cluster's scheduler configuration.
func (o *Operator) SchedulerGetConfiguration(q *QueryOptions) (*structs.SchedulerConfigurationResponse, *QueryMeta, error) {
	var out structs.SchedulerConfigurationResponse
	meta, err := o.c.query("/v1/operator/scheduler/configuration", q, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}

// SchedulerSetConfiguration replaces the scheduler configuration.
func (o *Operator) SchedulerSetConfiguration(cfg *structs.SchedulerConfiguration) (*structs.SchedulerSetConfigurationResponse, error) {
	var out structs.SchedulerSetConfigurationResponse
	if err := o.c.write(http.MethodPut, "/v1/operator/scheduler/configuration", nil, cfg, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SchedulerCASConfiguration replaces the scheduler configuration only if the
// stored one's ModifyIndex is cfg.ModifyIndex; Updated says whether it did.
func (o *Operator) SchedulerCASConfiguration(cfg *structs.SchedulerConfiguration) (*structs.SchedulerSetConfigurationResponse, error) {
	var out structs.SchedulerSetConfigurationResponse
	params := url.Values{"cas": {strconv.FormatUint(cfg.ModifyIndex, 10)}}
	if err := o.c.write(http.MethodPut, "/v1/operator/scheduler/configuration", params, cfg, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
