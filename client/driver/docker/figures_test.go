package docker_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver/docker"
	execdriver "github.com/orch-io/orch/client/driver/exec"
	"github.com/orch-io/orch/client/driver/rawexec"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/structs"
)

// TestFigureAllocPlacedToRunning measures, on a dev agent, the time from an
// allocation's placement (its CreateTime, set by the leader) to its task
// running (the task's StartedAt, set by the client once the driver started
// it), over 100 allocations placed one after another, for raw_exec, exec
// (as root) and docker with a local image. Both clocks are this machine's. It prints
// FIGURE lines; set ORCH_FIGURES=1 to run it (about a minute).
func TestFigureAllocPlacedToRunning(t *testing.T) {
	if os.Getenv("ORCH_FIGURES") == "" {
		t.Skip("set ORCH_FIGURES=1 to measure start latencies")
	}
	const n = 100
	// exec tasks' cgroups are made under "orch"; the tasks' own go with
	// them, the parent once the agent stopped (registered first: runs last).
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/orch")
		for _, d := range dirs {
			_ = syscall.Rmdir(d)
		}
	})
	a := agenttest.Start(t, agenttest.Options{Client: true})
	t.Run("raw_exec", func(t *testing.T) {
		measure(t, a, n, &structs.Task{Name: "t", Driver: rawexec.Name,
			Config: map[string]any{"command": "/bin/sleep", "args": []any{"1000"}}})
	})
	t.Run("exec", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("exec needs root")
		}
		measure(t, a, n, &structs.Task{Name: "t", Driver: execdriver.Name,
			Config: map[string]any{"command": "/bin/sleep", "args": []any{"1000"}}})
	})
	t.Run("docker", func(t *testing.T) {
		docker.NewTestDriver(t) // skips without an engine; builds the image
		measure(t, a, n, &structs.Task{Name: "t", Driver: docker.Name,
			Config: map[string]any{"image": docker.TestImage, "args": []any{"wait"}}})
	})
}

func measure(t *testing.T, a *agenttest.Agent, n int, task *structs.Task) {
	task.Resources = &structs.Resources{CPU: 20, MemoryMB: 16}
	task.KillTimeout = 2 * time.Second
	task.KillSignal = "SIGTERM"
	var lat []time.Duration
	for i := range n {
		job := &structs.Job{
			ID: "fig-" + task.Driver + "-" + strconv.Itoa(i), Type: structs.JobTypeService,
			Datacenters: []string{"dc1"}, Priority: 50,
			TaskGroups: []*structs.TaskGroup{{Name: "g", Count: 1, Tasks: []*structs.Task{task}}},
		}
		if _, err := a.API.Jobs().Register(job); err != nil {
			t.Fatalf("register %s: %v", job.ID, err)
		}
		var alloc *structs.Allocation
		err := agenttest.WaitFor(60*time.Second, func() (bool, string) {
			stubs, _, err := a.API.Jobs().Allocations(job.ID, nil)
			if err != nil || len(stubs) == 0 {
				return false, "no allocation yet"
			}
			alloc, _, err = a.API.Allocations().Info(stubs[0].ID, nil)
			if err != nil {
				return false, err.Error()
			}
			ts := alloc.TaskStates["t"]
			return ts != nil && ts.StartedAt != 0, "task not started"
		})
		if err != nil {
			t.Fatalf("%s: %v", job.ID, err)
		}
		if alloc.CreateTime == 0 {
			t.Fatalf("allocation %s has no CreateTime", alloc.ID)
		}
		lat = append(lat, time.Duration(alloc.TaskStates["t"].StartedAt-alloc.CreateTime))
		if _, err := a.API.Jobs().Deregister(job.ID, true); err != nil {
			t.Fatalf("deregister %s: %v", job.ID, err)
		}
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	t.Logf("FIGURE name=alloc_placed_to_running_p50 driver=%s value=%.1f unit=ms n=%d", task.Driver, ms(p(0.50)), n)
	t.Logf("FIGURE name=alloc_placed_to_running_p99 driver=%s value=%.1f unit=ms n=%d", task.Driver, ms(p(0.99)), n)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
