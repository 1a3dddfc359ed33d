package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/orch-io/orch/internal/dockertest"
	"github.com/orch-io/orch/structs"
)

// dockerServeJob runs the test image answering on the group's port "http"
// (a static host port, mapped to the container's 8080).
func dockerServeJob(port int) string {
	return fmt.Sprintf(`
job "web" {
  datacenters = ["*"]
  group "web" {
    network {
      port "http" {
        static = %d
        to     = 8080
      }
    }
    task "app" {
      driver = "docker"
      config {
        image = %q
        args  = ["serve", "8080"]
        ports = ["http"]
      }
      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
`, port, dockertest.Image)
}

// dockerPreconditions skips the test when no Docker engine answers, and
// builds the test image (FROM scratch: nothing is pulled).
func dockerPreconditions(t *testing.T) {
	t.Helper()
	api, err := client.New(client.FromEnv)
	if err != nil {
		t.Skipf("skipping: no Docker client: %v", err)
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := api.Ping(ctx, client.PingOptions{}); err != nil {
		t.Skipf("skipping: no Docker engine answers: %v", err)
	}
	if err := dockertest.BuildImage(ctx, api, "../client/driver/docker/testdata/app"); err != nil {
		t.Fatalf("building the test image: %v", err)
	}
}

// TestDockerTaskOutlivesAgent: a docker task of a locally built image
// answers on its mapped port on the node, keeps running through an agent
// SIGKILL and restart (re-attached by container ID, not restarted), and
// stopping the job removes it.
func TestDockerTaskOutlivesAgent(t *testing.T) {
	dockerPreconditions(t)
	dataDir := t.TempDir()
	ports := freePorts(t)
	port := freePorts(t)[0]
	a := startDockerDevAgent(t, dataDir, ports)
	if out, stderr, code := a.orch("job", "run", "-detach", writeJob(t, "web", dockerServeJob(port))); code != 0 {
		t.Fatalf("job run: exit %d\n%s\n%s", code, out, stderr)
	}
	answers := func(what string) {
		t.Helper()
		a.waitFor(what, 60*time.Second, func() (bool, error) {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
			if err != nil {
				return false, nil
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "hello from orch\n" {
				return false, fmt.Errorf("port %d answers %q", port, b)
			}
			return true, nil
		})
	}
	answers("the container to answer on its mapped port")
	container := func() (allocID, started string) {
		var stubs []*structs.AllocListStub
		if err := a.get("/v1/job/web/allocations", &stubs); err != nil || len(stubs) != 1 {
			t.Fatalf("allocations of web: %v, %v", stubs, err)
		}
		var al structs.Allocation
		if err := a.get("/v1/allocation/"+stubs[0].ID, &al); err != nil {
			t.Fatal(err)
		}
		return al.ID, fmt.Sprint(al.TaskStates["app"].StartedAt)
	}
	// The container may answer before the client's report of its start
	// reaches the server: wait for the recorded start time.
	var id, startedBefore string
	waitFor(t, "the task's start time recorded on the server", 30*time.Second, func() (bool, error) {
		id, startedBefore = container()
		return startedBefore != "0", nil
	})
	t.Cleanup(func() { removeContainersOf(id) })

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	answers("the container to answer while no agent runs")
	a = startDockerDevAgent(t, dataDir, ports)
	a.waitFor("the allocation to run again", 60*time.Second, func() (bool, error) {
		var al structs.Allocation
		if err := a.get("/v1/allocation/"+id, &al); err != nil {
			return false, nil
		}
		return al.ClientStatus == structs.AllocClientStatusRunning, nil
	})
	if _, startedAfter := container(); startedAfter != startedBefore {
		t.Errorf("task started at %s before the restart, %s after: it was restarted, not re-attached", startedBefore, startedAfter)
	}
	noRestarts(t, a, "web")
	answers("the re-attached container to answer")

	if out, stderr, code := a.orch("job", "stop", "-detach", "web"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s\n%s", code, out, stderr)
	}
	a.waitFor("the container to go", 60*time.Second, func() (bool, error) {
		_, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		return err != nil && strings.Contains(err.Error(), "refused"), nil
	})
}

// removeContainersOf removes the containers of allocation allocID, should
// the test have ended before the job's stop removed them.
func removeContainersOf(allocID string) {
	api, err := client.New(client.FromEnv)
	if err != nil {
		return
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", "io.orch.alloc_id="+allocID)})
	if err != nil {
		return
	}
	for _, c := range list.Items {
		_, _ = api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
	}
}

// startDockerDevAgent starts a dev agent and waits until its node runs
// docker.
func startDockerDevAgent(t *testing.T, dataDir string, ports [3]int) *agentProc {
	t.Helper()
	a := startAgent(t, dataDir, ports, "-dev", "-node", "e2e-docker")
	a.waitForDriver("docker", 60*time.Second)
	return a
}
