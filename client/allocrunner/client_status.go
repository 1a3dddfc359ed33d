package allocrunner

import "github.com/orch-io/orch/structs"

// Client descriptions of an allocation, as Nomad words them.
const (
	descFailed   = "Failed tasks"
	descRunning  = "Tasks are running"
	descPending  = "No tasks have started"
	descComplete = "All tasks have completed"
)

// clientStatus folds task states into the allocation's client status, as Nomad
// does: failed if any task failed; else running if any runs; else pending if
// any has yet to start (or is waiting to restart); else complete (every task
// dead, none failed). No tasks at all is pending.
func clientStatus(states map[string]*structs.TaskState) (structs.AllocClientStatus, string) {
	var running, pending, dead int
	for _, ts := range states {
		switch {
		case ts.Failed:
			return structs.AllocClientStatusFailed, descFailed
		case ts.State == structs.TaskStateRunning:
			running++
		case ts.State == structs.TaskStateDead:
			dead++
		default:
			pending++
		}
	}
	switch {
	case running > 0:
		return structs.AllocClientStatusRunning, descRunning
	case pending > 0 || dead == 0:
		return structs.AllocClientStatusPending, descPending
	}
	return structs.AllocClientStatusComplete, descComplete
}
