package allocrunner

import (
	"fmt"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// restartAction is what a task runner does after its task ended.
type restartAction int

const (
	// actionRestart: start the task again after the decision's Delay.
	actionRestart restartAction = iota + 1
	// actionComplete: the task is done, successfully (a batch task that exited 0).
	actionComplete
	// actionFail: the task is done and failed; the policy allows no more restarts.
	actionFail
)

func (a restartAction) String() string {
	switch a {
	case actionRestart:
		return "restart"
	case actionComplete:
		return "complete"
	case actionFail:
		return "fail"
	}
	return fmt.Sprintf("restartAction(%d)", int(a))
}

// restartDecision is the restart tracker's answer to "the task ended: now what?"
type restartDecision struct {
	Action restartAction
	Delay  time.Duration // before the restart, for actionRestart
	Reason string        // for the task event, as Nomad words it
}

// Reasons, as Nomad words them in task events.
const (
	reasonWithinPolicy = "Restart within policy"
	reasonUnnecessary  = "Restart unnecessary as task terminated successfully"
)

// defaultRestartPolicy is Nomad's default for a job type, used when a group has
// none (the job was not canonicalized).
func defaultRestartPolicy(jobType structs.JobType) structs.RestartPolicy {
	if jobType == structs.JobTypeBatch || jobType == structs.JobTypeSysBatch {
		return structs.RestartPolicy{Attempts: 3, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: structs.RestartPolicyModeFail}
	}
	return structs.RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: structs.RestartPolicyModeFail}
}

// restartTracker applies a group's restart policy to one task: at most Attempts
// restarts within any Interval, Delay apart; when the attempts are used up, mode
// "fail" fails the task and mode "delay" waits for the interval to end and
// starts a new one. A batch (or sysbatch) task that exits 0 is complete and never restarted;
// a service (or system) task is restarted whatever its exit code.
//
// It is pure: time comes in as arguments. Not safe for concurrent use; its task
// runner owns it.
type restartTracker struct {
	policy structs.RestartPolicy
	// runToCompletion: a successful exit completes the task (batch jobs,
	// ephemeral lifecycle tasks).
	runToCompletion bool

	// intervalStart is when the current interval began; count is the number of
	// restarts granted in it.
	intervalStart time.Time
	count         int
}

// newRestartTracker returns a tracker for a task of a job of jobType whose first
// start is at now. A nil policy means the job type's default.
func newRestartTracker(policy *structs.RestartPolicy, jobType structs.JobType, now time.Time) *restartTracker {
	p := defaultRestartPolicy(jobType)
	if policy != nil {
		p = *policy
	}
	return &restartTracker{policy: p, runToCompletion: jobType == structs.JobTypeBatch || jobType == structs.JobTypeSysBatch, intervalStart: now}
}

// exited decides what follows the task's exit at now. res is nil when the task
// could not be started at all (a start error that may go away: it counts as a
// failed run).
func (rt *restartTracker) exited(now time.Time, res *driver.ExitResult) restartDecision {
	if rt.runToCompletion && res != nil && res.Successful() {
		return restartDecision{Action: actionComplete, Reason: reasonUnnecessary}
	}

	// An Interval of zero or less never ends: Attempts is then a lifetime limit.
	end := rt.intervalStart.Add(rt.policy.Interval)
	if rt.policy.Interval > 0 && now.After(end) {
		rt.intervalStart = now
		rt.count = 0
		end = now.Add(rt.policy.Interval)
	}

	rt.count++
	if rt.count <= rt.policy.Attempts {
		return restartDecision{Action: actionRestart, Delay: rt.policy.Delay, Reason: reasonWithinPolicy}
	}

	reason := fmt.Sprintf("Exceeded allowed attempts %d in interval %v and mode is %q",
		rt.policy.Attempts, rt.policy.Interval, rt.policy.Mode)
	if rt.policy.Mode != structs.RestartPolicyModeDelay || rt.policy.Interval <= 0 {
		return restartDecision{Action: actionFail, Reason: reason}
	}
	// Mode delay: wait out the interval; the next exit starts a new one.
	return restartDecision{Action: actionRestart, Delay: max(end.Sub(now), 0), Reason: reason}
}
