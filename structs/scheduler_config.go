package structs

import (
	"errors"
	"fmt"
	"strconv"
)

// SchedulerAlgorithm is how the scheduler scores the resource fit of a node.
type SchedulerAlgorithm string

const (
	// SchedulerAlgorithmBinpack prefers the fullest nodes that fit (the
	// default): allocations are packed, leaving whole nodes free.
	SchedulerAlgorithmBinpack SchedulerAlgorithm = "binpack"
	// SchedulerAlgorithmSpread prefers the emptiest nodes: allocations are
	// spread over the cluster.
	SchedulerAlgorithmSpread SchedulerAlgorithm = "spread"
)

// MaxSchedulerSampleSize caps SchedulerConfiguration.SampleSize.
const MaxSchedulerSampleSize = 10_000

// SchedulerConfiguration is the cluster-wide configuration of the scheduler,
// stored in Raft (one object) and set with `orch operator scheduler
// set-config` or PUT /v1/operator/scheduler/configuration. The JSON names
// are Nomad's, and SampleSize is orch's own.
type SchedulerConfiguration struct {
	// SchedulerAlgorithm is "binpack" (default) or "spread".
	SchedulerAlgorithm SchedulerAlgorithm
	// PreemptionConfig says per job type whether a job may evict allocations
	// of lower priority jobs when nothing fits.
	PreemptionConfig PreemptionConfig
	// SampleSize, when > 0, is the least number of feasible nodes the
	// scheduler scores per placement of a service job (the default is about
	// log2 of the candidate nodes; batch jobs look at 2 unless this is set).
	// Larger samples place better and cost more.
	SampleSize int
	// MemoryOversubscriptionEnabled lets tasks use memory_max: the scheduler
	// reserves their memory and the drivers let them use up to memory_max.
	// Off, memory_max is ignored (job register warns).
	MemoryOversubscriptionEnabled bool

	CreateIndex uint64
	ModifyIndex uint64
}

// PreemptionConfig enables preemption per scheduler.
type PreemptionConfig struct {
	SystemSchedulerEnabled   bool
	SysBatchSchedulerEnabled bool
	BatchSchedulerEnabled    bool
	ServiceSchedulerEnabled  bool
}

// DefaultSchedulerConfiguration is the configuration of a cluster that has
// never set one: binpack, preemption for system jobs only (as in Nomad).
func DefaultSchedulerConfiguration() *SchedulerConfiguration {
	return &SchedulerConfiguration{
		SchedulerAlgorithm: SchedulerAlgorithmBinpack,
		PreemptionConfig:   PreemptionConfig{SystemSchedulerEnabled: true},
	}
}

// EffectiveAlgorithm returns the algorithm, binpack when unset. Safe on nil.
func (c *SchedulerConfiguration) EffectiveAlgorithm() SchedulerAlgorithm {
	if c == nil || c.SchedulerAlgorithm == "" {
		return SchedulerAlgorithmBinpack
	}
	return c.SchedulerAlgorithm
}

// Copy returns a copy. Safe on nil.
func (c *SchedulerConfiguration) Copy() *SchedulerConfiguration {
	if c == nil {
		return nil
	}
	cc := *c
	return &cc
}

// Validate checks the configuration, naming the field, value and rule.
func (c *SchedulerConfiguration) Validate() error {
	if c == nil {
		return errors.New("scheduler configuration is null")
	}
	var errs []error
	switch c.SchedulerAlgorithm {
	case "", SchedulerAlgorithmBinpack, SchedulerAlgorithmSpread:
	default:
		errs = append(errs, fmt.Errorf("SchedulerAlgorithm = %q: must be %q or %q",
			c.SchedulerAlgorithm, SchedulerAlgorithmBinpack, SchedulerAlgorithmSpread))
	}
	if c.SampleSize < 0 || c.SampleSize > MaxSchedulerSampleSize {
		errs = append(errs, fmt.Errorf("SampleSize = %s: must be between 0 (the default) and %d",
			strconv.Itoa(c.SampleSize), MaxSchedulerSampleSize))
	}
	return errors.Join(errs...)
}

// Operator RPC methods (see rpc.go):
//
//	Operator.SchedulerGetConfiguration  GenericRequest                    → SchedulerConfigurationResponse
//	Operator.SchedulerSetConfiguration  SchedulerSetConfigRequest         → SchedulerSetConfigurationResponse

// SchedulerConfigurationResponse answers Operator.SchedulerGetConfiguration
// (and GET /v1/operator/scheduler/configuration, as in Nomad).
type SchedulerConfigurationResponse struct {
	SchedulerConfig *SchedulerConfiguration
	QueryMeta
}

// SchedulerSetConfigRequest sets the scheduler configuration. With CAS, the
// write happens only if the stored configuration's ModifyIndex is
// Config.ModifyIndex (0: none stored yet).
type SchedulerSetConfigRequest struct {
	Config SchedulerConfiguration
	CAS    bool
	WriteRequest
}

// SchedulerSetConfigurationResponse answers Operator.SchedulerSetConfiguration.
// Updated is false when a CAS write found another ModifyIndex.
type SchedulerSetConfigurationResponse struct {
	Updated bool
	WriteMeta
}
