package api

// ScalingRequest is the body of PUT/POST /v1/job/:id/scale, as Nomad's:
// Target names the group ({"Job": id, "Group": name}); Count is the group's
// new count. orch stores no scaling events, so a request that only records
// one (no Count, Error, Meta) is refused rather than dropped.
type ScalingRequest struct {
	Count          *int64            `json:",omitempty"`
	Target         map[string]string `json:",omitempty"`
	Message        string            `json:",omitempty"`
	Error          bool              `json:",omitempty"`
	Meta           map[string]any    `json:",omitempty"`
	PolicyOverride bool              `json:",omitempty"`
	// JobModifyIndex, when not 0, scales only if the job's JobModifyIndex is
	// still this one (409 otherwise).
	JobModifyIndex uint64 `json:",omitempty"`

	// Nomad's client sends its WriteRequest in the body; orch reads region,
	// namespace and token from the query and headers, and only accepts these.
	Region           string `json:",omitempty"`
	Namespace        string `json:",omitempty"`
	SecretID         string `json:",omitempty"`
	IdempotencyToken string `json:",omitempty"`
}

// JobScaleStatusResponse is GET /v1/job/:id/scale: each group's desired count
// and its allocations' progress.
type JobScaleStatusResponse struct {
	JobID          string
	Namespace      string
	JobCreateIndex uint64
	JobModifyIndex uint64
	JobStopped     bool
	TaskGroups     map[string]TaskGroupScaleStatus
}

// TaskGroupScaleStatus is one group of a JobScaleStatusResponse. Events is
// always empty: orch keeps no scaling events.
type TaskGroupScaleStatus struct {
	Desired   int
	Placed    int
	Running   int
	Healthy   int
	Unhealthy int
	Events    []ScalingEvent
}

// ScalingEvent is Nomad's record of one scaling action (never sent by orch
// yet, declared for the shape of TaskGroupScaleStatus).
type ScalingEvent struct {
	Count         *int64
	PreviousCount int64
	Error         bool
	Message       string
	Meta          map[string]any
	EvalID        *string
	Time          uint64
	CreateIndex   uint64
}
