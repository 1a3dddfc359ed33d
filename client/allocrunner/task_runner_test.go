package allocrunner

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// newTestTaskRunner returns a task runner for task in a fresh directory, with
// the driver it names (raw_exec, or none).
func newTestTaskRunner(t *testing.T, jobType structs.JobType, policy *structs.RestartPolicy, task *structs.Task) *taskRunner {
	t.Helper()
	dir := t.TempDir()
	alloc := testAlloc(testJob(jobType, policy, task))
	return newTaskRunner(taskRunnerConfig{
		Alloc:         alloc,
		Task:          task,
		JobType:       jobType,
		RestartPolicy: policy,
		Driver:        testDrivers(t)[task.Driver],
		Handles:       noHandles{},
		TaskConfig: &driver.TaskConfig{
			AllocID: alloc.ID, TaskName: task.Name, Config: task.Config, Env: os.Environ(), Dir: dir,
			StdoutPath: filepath.Join(dir, task.Name+".stdout.0"), StderrPath: filepath.Join(dir, task.Name+".stderr.0"),
		},
		Notify: func() {},
		Now:    time.Now,
		Logger: testLogger(t),
	})
}

func runToEnd(t *testing.T, tr *taskRunner) *structs.TaskState {
	t.Helper()
	go tr.run()
	waitClosed(t, "task runner to finish", tr.doneCh())
	return tr.state()
}

func TestTaskRunnerRestartsPerPolicyThenFails(t *testing.T) {
	policy := &structs.RestartPolicy{Attempts: 2, Interval: time.Hour, Delay: 10 * time.Millisecond, Mode: structs.RestartPolicyModeFail}
	tr := newTestTaskRunner(t, structs.JobTypeService, policy, shellTask("web", `echo run >> runs; exit 3`))
	st := runToEnd(t, tr)

	if st.State != structs.TaskStateDead || !st.Failed || st.Restarts != 2 {
		t.Fatalf("state = %s failed=%v restarts=%d, want dead, failed, 2 restarts", st.State, st.Failed, st.Restarts)
	}
	runs, err := os.ReadFile(filepath.Join(tr.cfg.TaskConfig.Dir, "runs"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(runs), "run\n"); n != 3 {
		t.Errorf("the command ran %d times, want 3", n)
	}
	// The newest events (older ones fall off at MaxTaskEvents).
	got := eventTypes(st)
	want := []string{
		structs.TaskStarted, structs.TaskTerminated, structs.TaskRestarting,
		structs.TaskStarted, structs.TaskTerminated, structs.TaskRestarting,
		structs.TaskStarted, structs.TaskTerminated, structs.TaskNotRestarting,
	}
	if !slices.Equal(got[len(got)-len(want):], want) {
		t.Errorf("events = %v, want them to end with %v", got, want)
	}
	last := st.Events[len(st.Events)-1]
	if !last.FailsTask || !strings.Contains(last.RestartReason, "Exceeded allowed attempts 2") {
		t.Errorf("last event = %+v", last)
	}
	term := st.Events[len(st.Events)-2]
	if term.ExitCode != 3 {
		t.Errorf("Terminated exit code = %d, want 3", term.ExitCode)
	}
	restarting := st.Events[len(st.Events)-4]
	if restarting.RestartReason != reasonWithinPolicy || !strings.Contains(restarting.DisplayMessage, "10ms") {
		t.Errorf("Restarting event = %+v, want the policy reason and the delay", restarting)
	}
}

func TestTaskRunnerBatchSuccessCompletes(t *testing.T) {
	tr := newTestTaskRunner(t, structs.JobTypeBatch, nil, shellTask("job", `echo done`))
	st := runToEnd(t, tr)
	if st.State != structs.TaskStateDead || st.Failed || st.Restarts != 0 {
		t.Fatalf("state = %+v, want dead, not failed, no restart", st)
	}
	want := []string{structs.TaskReceived, structs.TaskSetup, structs.TaskStarted, structs.TaskTerminated}
	if got := eventTypes(st); !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	if st.StartedAt == 0 || st.FinishedAt < st.StartedAt {
		t.Errorf("StartedAt %d, FinishedAt %d", st.StartedAt, st.FinishedAt)
	}
}

func TestTaskRunnerKillRunningTask(t *testing.T) {
	tr := newTestTaskRunner(t, structs.JobTypeService, nil, shellTask("web", `exec sleep 1000`))
	go tr.run()
	waitFor(t, "task running", func() bool { return tr.state().State == structs.TaskStateRunning })
	tr.kill(nil)
	waitClosed(t, "task runner to finish", tr.doneCh())

	st := tr.state()
	if st.State != structs.TaskStateDead || st.Failed {
		t.Fatalf("state = %s failed=%v, want dead and not failed", st.State, st.Failed)
	}
	got := eventTypes(st)
	want := []string{structs.TaskStarted, structs.TaskKilling, structs.TaskKilled}
	if !slices.Equal(got[len(got)-3:], want) {
		t.Errorf("events = %v, want them to end with %v", got, want)
	}
	if k := st.Events[len(st.Events)-2]; k.KillTimeout != int64(2*time.Second) {
		t.Errorf("Killing event KillTimeout = %v", time.Duration(k.KillTimeout))
	}
}

func TestTaskRunnerKillDuringRestartDelay(t *testing.T) {
	policy := &structs.RestartPolicy{Attempts: 5, Interval: time.Hour, Delay: time.Hour, Mode: structs.RestartPolicyModeFail}
	tr := newTestTaskRunner(t, structs.JobTypeService, policy, shellTask("web", `exit 1`))
	go tr.run()
	waitFor(t, "restart delay", func() bool { return tr.state().Restarts == 1 })
	tr.kill(nil)
	waitClosed(t, "task runner to finish", tr.doneCh())
	st := tr.state()
	if st.State != structs.TaskStateDead || st.Failed {
		t.Fatalf("state = %s failed=%v", st.State, st.Failed)
	}
	if last := st.Events[len(st.Events)-1]; last.Type != structs.TaskKilled {
		t.Errorf("last event = %s, want Killed", last.Type)
	}
}

func TestTaskRunnerBadConfigFailsWithoutRestart(t *testing.T) {
	task := shellTask("web", "")
	task.Config = map[string]any{"command": "/bin/sh", "args": "-c true"}
	st := runToEnd(t, newTestTaskRunner(t, structs.JobTypeService, nil, task))
	if st.State != structs.TaskStateDead || !st.Failed || st.Restarts != 0 {
		t.Fatalf("state = %+v", st)
	}
	last := st.Events[len(st.Events)-1]
	if last.Type != structs.TaskDriverFailure || !last.FailsTask ||
		!strings.Contains(last.DriverError, `task "web": config.args: must be a list of strings`) {
		t.Errorf("last event = %+v", last)
	}
}

func TestTaskRunnerStartErrorIsRestarted(t *testing.T) {
	task := shellTask("web", "")
	task.Config = map[string]any{"command": "/nonexistent/orch-binary"}
	policy := &structs.RestartPolicy{Attempts: 1, Interval: time.Hour, Delay: time.Millisecond, Mode: structs.RestartPolicyModeFail}
	st := runToEnd(t, newTestTaskRunner(t, structs.JobTypeService, policy, task))
	if !st.Failed || st.Restarts != 1 {
		t.Fatalf("state = %+v, want failed after 1 restart", st)
	}
	got := eventTypes(st)
	want := []string{structs.TaskDriverFailure, structs.TaskRestarting, structs.TaskDriverFailure, structs.TaskNotRestarting}
	if !slices.Equal(got[len(got)-4:], want) {
		t.Errorf("events = %v, want them to end with %v", got, want)
	}
}

func TestTaskRunnerUnknownDriverOrSignal(t *testing.T) {
	task := shellTask("web", "true")
	task.Driver = "docker"
	st := runToEnd(t, newTestTaskRunner(t, structs.JobTypeService, nil, task))
	if last := st.Events[len(st.Events)-1]; !st.Failed || last.Type != structs.TaskDriverFailure ||
		!strings.Contains(last.DisplayMessage, `driver "docker" is not available`) {
		t.Errorf("unknown driver: failed=%v last event %+v", st.Failed, last)
	}

	task = shellTask("web", "true")
	task.KillSignal = "SIGNOPE"
	st = runToEnd(t, newTestTaskRunner(t, structs.JobTypeService, nil, task))
	if last := st.Events[len(st.Events)-1]; !st.Failed || last.Type != structs.TaskFailedValidate ||
		!strings.Contains(last.DisplayMessage, `"SIGNOPE"`) {
		t.Errorf("bad kill signal: failed=%v last event %+v", st.Failed, last)
	}
}

func TestTaskRunnerRestoredDeadTaskStaysDead(t *testing.T) {
	task := shellTask("web", `echo ran > ran`)
	tr := newTestTaskRunner(t, structs.JobTypeBatch, nil, task)
	tr.mu.state = &structs.TaskState{State: structs.TaskStateDead, Events: []*structs.TaskEvent{{Type: structs.TaskTerminated}}}
	runToEnd(t, tr)
	if _, err := os.Stat(filepath.Join(tr.cfg.TaskConfig.Dir, "ran")); err == nil {
		t.Fatal("a restored dead task ran again")
	}
}
