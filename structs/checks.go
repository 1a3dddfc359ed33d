package structs

// CheckQueryResult is the latest result of one check the client runs, as
// GET /v1/client/allocation/:id/checks lists them (Nomad's field names).
// Status is the check's status after success_before_passing and
// failures_before_critical: passing, warning or critical (before its first
// result: its initial_status, critical unless set).
type CheckQueryResult struct {
	ID      string
	Check   string // the check's name
	Group   string
	Task    string // the task a task service's check belongs to, or a script check runs in
	Service string
	Type    string
	// Mode is "healthiness" for checks that count for deployment health
	// (on_update require_healthy or ignore_warnings), "readiness" for the
	// others (on_update ignore).
	Mode       string
	OnUpdate   string
	Status     string
	StatusCode int    // an http check's response status; 0 for others
	Output     string // an excerpt of the last result's output
	// Timestamp is the time of the last result, unix nanoseconds (0 before
	// the first). HealthySince is when the status last became healthy for
	// the check's on_update (passing; or warning with ignore_warnings), 0
	// while it is not.
	Timestamp    int64
	HealthySince int64
}

// Check modes of CheckQueryResult.
const (
	CheckModeHealthiness = "healthiness"
	CheckModeReadiness   = "readiness"
)
