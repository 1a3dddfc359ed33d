package allocrunner

import (
	"errors"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// TestUserRestartsDoNotCountAgainstThePolicy: `orch alloc restart` restarts a
// task in place as often as asked, even past its policy's attempts, without
// failing it; a task that is not in the allocation is a not-found error.
func TestUserRestartsDoNotCountAgainstThePolicy(t *testing.T) {
	n := newMockNode(t)
	policy := &structs.RestartPolicy{Attempts: 1, Interval: time.Hour, Delay: time.Millisecond, Mode: structs.RestartPolicyModeFail}
	ar, rec := n.runner(t, testAlloc(testJob(structs.JobTypeService, policy, mockTask("web", map[string]any{}))))
	ar.Run()
	waitStatus(t, rec, structs.AllocClientStatusRunning)
	for i := 1; i <= 3; i++ {
		task := ""
		if i == 2 {
			task = "web"
		}
		if err := ar.RestartTasks(task); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		waitFor(t, "the task to run again", func() bool {
			a := rec.lastSent()
			ts := a.TaskStates["web"]
			return a.ClientStatus == structs.AllocClientStatusRunning && ts.State == structs.TaskStateRunning && ts.Restarts == uint64(i)
		})
	}
	a := rec.lastSent()
	if ts := a.TaskStates["web"]; ts.Failed || n.driver.Running() != 1 {
		t.Errorf("after 3 user restarts with 1 attempt allowed: task %+v, %d running; want running, not failed", ts, n.driver.Running())
	}
	var coded *structs.Error
	if err := ar.RestartTasks("nope"); !errors.As(err, &coded) || coded.Code != structs.CodeNotFound {
		t.Errorf("restart of an unknown task = %v, want a not-found error", err)
	}
	if err := ar.SignalTasks("web", "SIGNOPE"); !errors.As(err, &coded) || coded.Code != structs.CodeInvalid {
		t.Errorf("signal SIGNOPE = %v, want an invalid error", err)
	}
	if err := ar.SignalTasks("", "SIGHUP"); err != nil {
		t.Errorf("signal SIGHUP: %v", err)
	}
}
