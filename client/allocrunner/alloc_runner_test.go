package allocrunner

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// newTestAllocRunner returns a runner of alloc in a fresh allocs directory,
// recording what it persists and sends.
func newTestAllocRunner(t *testing.T, alloc *structs.Allocation, opts ...func(*Config)) (*AllocRunner, *recorder, string) {
	t.Helper()
	rec := &recorder{}
	allocsDir := t.TempDir()
	cfg := Config{
		Alloc:     alloc,
		Node:      &structs.Node{ID: "node-1", Name: "n1", Datacenter: "dc1"},
		AllocsDir: allocsDir,
		Drivers:   testDrivers(t),
		Persist:   rec.persist,
		Send:      rec.send,
		Logger:    testLogger(t),
	}
	for _, o := range opts {
		o(&cfg)
	}
	ar := New(cfg)
	t.Cleanup(func() { _ = ar.Destroy() })
	return ar, rec, allocsDir
}

func waitStatus(t *testing.T, rec *recorder, want structs.AllocClientStatus) *structs.Allocation {
	t.Helper()
	var last *structs.Allocation
	waitFor(t, "client status "+string(want), func() bool {
		last = rec.lastSent()
		return last != nil && last.ClientStatus == want
	})
	return last
}

func TestAllocRunnerRunsTasksAndStopsOnServerStop(t *testing.T) {
	job := testJob(structs.JobTypeService, nil,
		shellTask("web", `env > env; pwd > pwd; echo out; echo err >&2; exec sleep 1000`),
		shellTask("sidecar", `exec sleep 1000`))
	alloc := testAlloc(job)
	ar, rec, allocsDir := newTestAllocRunner(t, alloc.Copy())
	ar.Run()

	running := waitStatus(t, rec, structs.AllocClientStatusRunning)
	waitFor(t, "both tasks running", func() bool {
		a := ar.Alloc()
		return a.TaskStates["web"].State == structs.TaskStateRunning && a.TaskStates["sidecar"].State == structs.TaskStateRunning
	})
	if running.ID != alloc.ID || running.ClientDescription == "" {
		t.Errorf("sent %+v", running)
	}

	// Layout, working directory, log files and environment.
	allocDir := filepath.Join(allocsDir, alloc.ID)
	taskDir := filepath.Join(allocDir, "web")
	for _, d := range []string{"alloc/logs", "alloc/data", "alloc/tmp", "web/local", "web/secrets", "web/tmp", "sidecar/local"} {
		if fi, err := os.Stat(filepath.Join(allocDir, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: not a directory (%v)", d, err)
		}
	}
	waitFor(t, "task output", func() bool {
		b, _ := os.ReadFile(filepath.Join(allocDir, "alloc/logs/web.stderr.0"))
		return string(b) == "err\n"
	})
	if b, _ := os.ReadFile(filepath.Join(allocDir, "alloc/logs/web.stdout.0")); string(b) != "out\n" {
		t.Errorf("stdout = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(taskDir, "pwd")); strings.TrimSpace(string(b)) != taskDir {
		t.Errorf("working directory = %q, want %q", b, taskDir)
	}
	env, _ := os.ReadFile(filepath.Join(taskDir, "env"))
	for _, want := range []string{
		"ORCH_ALLOC_ID=" + alloc.ID, "NOMAD_ALLOC_ID=" + alloc.ID, "ORCH_ALLOC_INDEX=0",
		"ORCH_ALLOC_NAME=example.web[0]", "ORCH_JOB_ID=example", "ORCH_JOB_NAME=example", "ORCH_GROUP_NAME=web",
		"ORCH_TASK_NAME=web", "NOMAD_TASK_NAME=web", "ORCH_ALLOC_DIR=" + filepath.Join(allocDir, "alloc"),
		"ORCH_TASK_DIR=" + filepath.Join(taskDir, "local"), "ORCH_CPU_LIMIT=100", "ORCH_MEMORY_LIMIT=64",
		"ORCH_DC=dc1", "ORCH_NODE_ID=node-1", "ORCH_NODE_NAME=n1", "PATH=",
	} {
		if !strings.Contains(string(env), "\n"+want) && !strings.HasPrefix(string(env), want) {
			t.Errorf("task environment lacks %q", want)
		}
	}

	// The servers stop it.
	stopped := alloc.Copy()
	stopped.DesiredStatus = structs.AllocDesiredStatusStop
	stopped.AllocModifyIndex = 10
	ar.Update(stopped)
	done := waitStatus(t, rec, structs.AllocClientStatusComplete)
	waitClosed(t, "tasks to finish", ar.WaitCh())
	for name, ts := range done.TaskStates {
		got := eventTypes(ts)
		if ts.State != structs.TaskStateDead || ts.Failed || !slices.Equal(got[len(got)-2:], []string{structs.TaskKilling, structs.TaskKilled}) {
			t.Errorf("task %s: %s failed=%v events %v", name, ts.State, ts.Failed, got)
		}
	}
	if p, _ := rec.lastPersisted(); p.ClientStatus != structs.AllocClientStatusComplete || p.DesiredStatus != structs.AllocDesiredStatusStop {
		t.Errorf("persisted %s/%s", p.ClientStatus, p.DesiredStatus)
	}
}

func TestAllocRunnerGivesTasksTheirPorts(t *testing.T) {
	job := testJob(structs.JobTypeBatch, nil,
		shellTask("web", `echo "$ORCH_PORT_http $NOMAD_PORT_http $ORCH_HOST_PORT_db $ORCH_PORT_db $ORCH_IP_http $ORCH_ADDR_http $NOMAD_ADDR_db" > ports`))
	alloc := testAlloc(job)
	alloc.AllocatedResources = &structs.AllocatedResources{
		Tasks: map[string]*structs.Resources{"web": {CPU: 100, MemoryMB: 64}},
		Shared: structs.AllocatedSharedResources{Ports: structs.AllocatedPorts{
			{Label: "http", Value: 24001, HostIP: "127.0.0.1"},
			{Label: "db", Value: 5432, To: 6000, HostIP: "127.0.0.1"},
		}},
	}
	ar, rec, allocsDir := newTestAllocRunner(t, alloc.Copy())
	ar.Run()
	waitStatus(t, rec, structs.AllocClientStatusComplete)
	b, err := os.ReadFile(filepath.Join(allocsDir, alloc.ID, "web", "ports"))
	if want := "24001 24001 5432 6000 127.0.0.1 127.0.0.1:24001 127.0.0.1:5432\n"; err != nil || string(b) != want {
		t.Fatalf("task saw %q (%v), want %q", b, err, want)
	}
}

func TestAllocRunnerFailedTaskKillsSiblings(t *testing.T) {
	policy := &structs.RestartPolicy{Attempts: 0, Interval: time.Hour, Mode: structs.RestartPolicyModeFail}
	job := testJob(structs.JobTypeService, policy,
		shellTask("crasher", `exit 2`),
		shellTask("server", `exec sleep 1000`))
	ar, rec, _ := newTestAllocRunner(t, testAlloc(job))
	ar.Run()
	waitClosed(t, "tasks to finish", ar.WaitCh())
	waitStatus(t, rec, structs.AllocClientStatusFailed)
	waitFor(t, "final state sent", func() bool {
		a := rec.lastSent()
		return a.TaskStates["server"].State == structs.TaskStateDead
	})
	failed := rec.lastSent()
	if failed.ClientStatus != structs.AllocClientStatusFailed {
		t.Fatalf("status = %s", failed.ClientStatus)
	}
	srv := failed.TaskStates["server"]
	if srv.Failed || !slices.Contains(eventTypes(srv), structs.TaskSiblingFailed) {
		t.Errorf("server task: failed=%v events %v", srv.Failed, eventTypes(srv))
	}
	if !failed.TaskStates["crasher"].Failed {
		t.Error("crasher not failed")
	}
}

// An allocation whose task ran twice and now waits out its restart interval
// is pending, and says its tasks wait to restart, not that none started.
func TestAllocRunnerTaskWaitingToRestartAgain(t *testing.T) {
	policy := &structs.RestartPolicy{Attempts: 1, Delay: 0, Interval: time.Hour, Mode: structs.RestartPolicyModeDelay}
	job := testJob(structs.JobTypeService, policy, shellTask("main", `exit 3`))
	ar, rec, _ := newTestAllocRunner(t, testAlloc(job))
	ar.Run()
	var a *structs.Allocation
	waitFor(t, "the task's second exit", func() bool {
		if a = rec.lastSent(); a == nil {
			return false
		}
		ts := a.TaskStates["main"]
		return ts != nil && ts.Restarts == 2 && ts.State == structs.TaskStatePending
	})
	events := eventTypes(a.TaskStates["main"])
	if started := len(slices.DeleteFunc(slices.Clone(events), func(e string) bool { return e != structs.TaskStarted })); started != 2 {
		t.Fatalf("task started %d times, want 2: events %v", started, events)
	}
	if a.ClientStatus != structs.AllocClientStatusPending || a.ClientDescription != descRestarting {
		t.Errorf("client status %s (%q), want pending (%q)", a.ClientStatus, a.ClientDescription, descRestarting)
	}
}

func TestAllocRunnerShutdownFreezesState(t *testing.T) {
	for _, stopTasks := range []bool{false, true} {
		t.Run(fmt.Sprintf("StopTasksOnShutdown=%v", stopTasks), func(t *testing.T) {
			job := testJob(structs.JobTypeService, nil, shellTask("web", `echo $$ > pid; exec sleep 1000`))
			ar, rec, allocsDir := newTestAllocRunner(t, testAlloc(job), func(c *Config) { c.StopTasksOnShutdown = stopTasks })
			ar.Run()
			a := waitStatus(t, rec, structs.AllocClientStatusRunning)
			pidFile := filepath.Join(allocsDir, a.ID, "web", "pid")
			var pid string
			waitFor(t, "pid file", func() bool {
				b, _ := os.ReadFile(pidFile)
				pid = strings.TrimSpace(string(b))
				return strings.HasSuffix(string(b), "\n")
			})

			// raw_exec tasks outlive the agent unless told otherwise.
			ar.Shutdown()
			if _, err := os.Stat("/proc/" + pid); (err == nil) == stopTasks {
				t.Errorf("process %s exists after Shutdown: %v, want %v", pid, err == nil, !stopTasks)
			}
			last, n := rec.lastPersisted()
			if last.ClientStatus != structs.AllocClientStatusRunning || last.TaskStates["web"].State != structs.TaskStateRunning {
				t.Errorf("persisted %s (task %s); Shutdown must leave the running state", last.ClientStatus, last.TaskStates["web"].State)
			}
			if s := rec.lastSent(); s.ClientStatus != structs.AllocClientStatusRunning {
				t.Errorf("sent %s after Shutdown", s.ClientStatus)
			}
			ar.Shutdown() // idempotent
			if _, n2 := rec.lastPersisted(); n2 != n {
				t.Errorf("persisted %d more times after Shutdown", n2-n)
			}
		})
	}
}

func TestAllocRunnerRestoredRunsOnlyUnfinishedTasks(t *testing.T) {
	job := testJob(structs.JobTypeBatch, nil,
		shellTask("init", `echo ran > ran`),
		shellTask("main", `echo ran > ran; exec sleep 1000`))
	alloc := testAlloc(job)
	alloc.ClientStatus = structs.AllocClientStatusRunning
	alloc.TaskStates = map[string]*structs.TaskState{
		"init": {State: structs.TaskStateDead, Events: []*structs.TaskEvent{{Type: structs.TaskTerminated}}},
		"main": {State: structs.TaskStateRunning, Events: []*structs.TaskEvent{{Type: structs.TaskStarted}}},
	}
	ar, rec, allocsDir := newTestAllocRunner(t, alloc)
	ar.Run()
	waitFor(t, "main restarted", func() bool {
		_, err := os.Stat(filepath.Join(allocsDir, alloc.ID, "main", "ran"))
		return err == nil
	})
	a := waitStatus(t, rec, structs.AllocClientStatusRunning)
	if _, err := os.Stat(filepath.Join(allocsDir, alloc.ID, "init", "ran")); err == nil {
		t.Error("the finished init task ran again")
	}
	if got := eventTypes(a.TaskStates["init"]); !slices.Equal(got, []string{structs.TaskTerminated}) {
		t.Errorf("init events %v: the finished task was touched", got)
	}
	if got := eventTypes(a.TaskStates["main"]); !slices.Contains(got, structs.TaskRestarting) {
		t.Errorf("main events %v, want a Restarting event for the agent restart", got)
	}
}

func TestAllocRunnerRestoredStoppedAllocCompletes(t *testing.T) {
	job := testJob(structs.JobTypeService, nil, shellTask("web", `echo ran > ran; exec sleep 1000`))
	alloc := testAlloc(job)
	alloc.DesiredStatus = structs.AllocDesiredStatusStop
	alloc.ClientStatus = structs.AllocClientStatusRunning
	alloc.TaskStates = map[string]*structs.TaskState{"web": {State: structs.TaskStateRunning}}
	ar, rec, allocsDir := newTestAllocRunner(t, alloc)
	ar.Run()
	waitStatus(t, rec, structs.AllocClientStatusComplete)
	if _, err := os.Stat(filepath.Join(allocsDir, alloc.ID, "web", "ran")); err == nil {
		t.Error("a stopped alloc started its task")
	}
}

func TestAllocRunnerBadAllocFails(t *testing.T) {
	job := testJob(structs.JobTypeService, nil, shellTask("alloc", `true`))
	ar, rec, _ := newTestAllocRunner(t, testAlloc(job))
	ar.Run()
	a := waitStatus(t, rec, structs.AllocClientStatusFailed)
	if !strings.Contains(a.ClientDescription, `task name "alloc"`) {
		t.Errorf("description = %q", a.ClientDescription)
	}

	alloc := testAlloc(job)
	alloc.TaskGroup = "nope"
	ar, rec, _ = newTestAllocRunner(t, alloc)
	ar.Run()
	a = waitStatus(t, rec, structs.AllocClientStatusFailed)
	if !strings.Contains(a.ClientDescription, `no task group "nope"`) {
		t.Errorf("description = %q", a.ClientDescription)
	}
}

func TestAllocRunnerDestroyRemovesDirectory(t *testing.T) {
	job := testJob(structs.JobTypeService, nil, shellTask("web", `exec sleep 1000`))
	ar, rec, allocsDir := newTestAllocRunner(t, testAlloc(job))
	ar.Run()
	a := waitStatus(t, rec, structs.AllocClientStatusRunning)
	if err := ar.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(allocsDir, a.ID)); !os.IsNotExist(err) {
		t.Errorf("alloc dir still there: %v", err)
	}
}

func TestShutdownBeforeRun(t *testing.T) {
	ar, rec, _ := newTestAllocRunner(t, testAlloc(testJob(structs.JobTypeService, nil, shellTask("web", "true"))))
	ar.Shutdown()
	ar.Run() // does nothing
	if rec.lastSent() != nil {
		t.Error("a runner shut down before Run sent state")
	}
}
