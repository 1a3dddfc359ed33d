package allocrunner

import "github.com/orch-io/orch/structs"

// Client descriptions of an allocation, as Nomad words them; the two pending
// ones that are not Nomad's say what Nomad's "No tasks have started" would
// get wrong once a task has run.
const (
	descFailed     = "Failed tasks"
	descRunning    = "Tasks are running"
	descPending    = "No tasks have started"
	descRestarting = "Tasks are waiting to restart"
	descNotRunning = "No tasks are running"
	descComplete   = "All tasks have completed"
)

// clientStatus folds task states into the allocation's client status, as Nomad
// does: failed if any task failed; else running if any runs; else pending if
// any has yet to start (or is waiting to restart); else complete (every task
// dead, none failed). No tasks at all is pending. A pending allocation is
// described by whether its tasks ever started: none did, one waits to
// restart, or some finished while others have yet to start.
func clientStatus(states map[string]*structs.TaskState) (structs.AllocClientStatus, string) {
	var running, pending, dead int
	var restarting, started bool
	for _, ts := range states {
		started = started || ts.StartedAt != 0
		switch {
		case ts.Failed:
			return structs.AllocClientStatusFailed, descFailed
		case ts.State == structs.TaskStateRunning:
			running++
		case ts.State == structs.TaskStateDead:
			dead++
		default:
			pending++
			restarting = restarting || ts.StartedAt != 0 || ts.Restarts > 0
		}
	}
	switch {
	case running > 0:
		return structs.AllocClientStatusRunning, descRunning
	case restarting:
		return structs.AllocClientStatusPending, descRestarting
	case started && pending > 0:
		return structs.AllocClientStatusPending, descNotRunning
	case pending > 0 || dead == 0:
		return structs.AllocClientStatusPending, descPending
	}
	return structs.AllocClientStatusComplete, descComplete
}
