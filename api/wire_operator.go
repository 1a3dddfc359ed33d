package api

import "github.com/orch-io/orch/structs"

// SchedulerConfiguration is the body of PUT /v1/operator/scheduler/configuration
// as Nomad's client sends it: the settings orch has, the ones it does not
// (refused when set, see CheckSupported), and SampleSize, orch's own.
type SchedulerConfiguration struct {
	SchedulerAlgorithm            string
	PreemptionConfig              structs.PreemptionConfig
	MemoryOversubscriptionEnabled bool
	RejectJobRegistration         Unsupported
	PauseEvalBroker               Unsupported
	NodeLimitForFeasibilityChecks Unsupported
	// SampleSize is orch's own (structs.SchedulerConfiguration.SampleSize).
	SampleSize  int `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// SchedulerConfigToStructs is the configuration as orch's.
func SchedulerConfigToStructs(w *SchedulerConfiguration) structs.SchedulerConfiguration {
	return structs.SchedulerConfiguration{SchedulerAlgorithm: structs.SchedulerAlgorithm(w.SchedulerAlgorithm),
		PreemptionConfig: w.PreemptionConfig, SampleSize: w.SampleSize,
		MemoryOversubscriptionEnabled: w.MemoryOversubscriptionEnabled, CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex}
}
