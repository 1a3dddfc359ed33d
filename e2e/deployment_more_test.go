package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// latestDeploymentOf reads the job's latest deployment through a's HTTP API
// (nil when none).
func latestDeploymentOf(a *agentProc, job string) (*structs.Deployment, error) {
	var d *structs.Deployment
	if err := a.get("/v1/job/"+job+"/deployment", &d); err != nil {
		return nil, err
	}
	return d, nil
}

// runningVersions counts the job's running allocations per job version.
func runningVersions(t testing.TB, a *agentProc, job string) map[uint64]int {
	out := map[uint64]int{}
	for _, al := range jobAllocs(t, a, job) {
		if al.ClientStatus == structs.AllocClientStatusRunning && al.DesiredStatus == structs.AllocDesiredStatusRun {
			out[al.JobVersion]++
		}
	}
	return out
}

// TestDeploymentBlueGreenPromote: on a real agent, a blue-green update
// (canary = count = 3) runs the green set beside the blue one; `job run`
// stops at the promotion and says how to give it; after `job promote` the
// deployment succeeds and only the green set runs.
func TestDeploymentBlueGreenPromote(t *testing.T) {
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	update := `    max_parallel = 1
    canary = 3
    min_healthy_time = "1s"
    healthy_deadline = "1m"
    progress_deadline = "2m"`
	if out, errOut, code := a.orch("job", "run", deploymentJobHCL(t, 3, update, "exec sleep 3600")); code != 0 {
		t.Fatalf("blue: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := a.orch("job", "run", deploymentJobHCL(t, 3, update, "exec sleep 3601"))
	if code != 0 {
		t.Fatalf("green: exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "job run", out, "waiting for promotion: 3/3 canaries healthy", "waits for promotion")
	if got := runningVersions(t, a, "web"); got[0] != 3 || got[1] != 3 {
		t.Fatalf("before promotion: running per version %v, want 3 blue and 3 green", got)
	}
	d, err := latestDeploymentOf(a, "web")
	if err != nil || d == nil {
		t.Fatalf("latest deployment: %v %v", d, err)
	}
	if out, errOut, code := a.orch("job", "promote", "web"); code != 0 {
		t.Fatalf("job promote: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = a.orch("deployment", "status", "-monitor", d.ID)
	if code != 0 {
		t.Fatalf("deployment status -monitor: exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "monitor", out, "Deployment completed successfully")
	a.waitFor("only the green set running", 30*time.Second, func() (bool, error) {
		got := runningVersions(t, a, "web")
		return got[0] == 0 && got[1] == 3, fmt.Errorf("running per version %v", got)
	})
}

// TestDeploymentSurvivesLeaderSIGKILL: three servers and a client; a rolling
// update (count 4, max_parallel 1, min_healthy_time 2s) is under way when the
// leader is killed with SIGKILL; the new leader's deployment watcher, rebuilt
// from the replicated state, takes it to its end and every allocation runs
// the new version.
func TestDeploymentSurvivesLeaderSIGKILL(t *testing.T) {
	servers := make([]*clusterServer, 3)
	var join []string
	for i := range servers {
		servers[i] = &clusterServer{name: fmt.Sprintf("dk-s%d", i+1), dataDir: t.TempDir(), ports: freePorts(t)}
		join = append(join, servers[i].gossipAddr())
	}
	for _, s := range servers {
		s.start(t, join[:1])
	}
	leader := waitForCluster(t, servers, 3)
	client := startAgent(t, t.TempDir(), freePorts(t), "-client", "-bind", "127.0.0.1", "-node", "dk-client",
		"-join", strings.Join(join, ","))
	_ = client
	via := anyFollower(servers, leader)
	waitFor(t, "the client node ready", 30*time.Second, func() (bool, error) {
		nodes, err := nodeStatuses(via)
		return err == nil && nodes["dk-client"] == structs.NodeStatusReady, fmt.Errorf("nodes %v: %v", nodes, err)
	})
	update := `    max_parallel = 1
    min_healthy_time = "2s"
    healthy_deadline = "1m"
    progress_deadline = "2m"`
	if out, errOut, code := via.proc.orch("job", "run", deploymentJobHCL(t, 4, update, "exec sleep 3600")); code != 0 {
		t.Fatalf("version 0: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := via.proc.orch("job", "run", "-detach", deploymentJobHCL(t, 4, update, "exec sleep 3601")); code != 0 {
		t.Fatalf("version 1: exit %d\n%s%s", code, out, errOut)
	}
	var rolling *structs.Deployment
	waitFor(t, "version 1's deployment under way (1 healthy, not done)", 30*time.Second, func() (bool, error) {
		d, err := latestDeploymentOf(via.proc, "web")
		if err != nil || d == nil {
			return false, err
		}
		rolling = d
		s := d.TaskGroups["web"]
		return d.JobVersion == 1 && s != nil && s.HealthyAllocs >= 1, fmt.Errorf("deployment %+v", d)
	})
	if rolling.Status != structs.DeploymentStatusRunning || rolling.TaskGroups["web"].HealthyAllocs >= 4 {
		t.Fatalf("the deployment was not in the middle of the update when the leader died: %s, %d healthy",
			rolling.Status, rolling.TaskGroups["web"].HealthyAllocs)
	}

	leader.proc.cmd.Process.Kill()
	<-leader.proc.exited
	leader.proc = nil
	var rest []*clusterServer
	for _, s := range servers {
		if s.proc != nil {
			rest = append(rest, s)
		}
	}
	leader = waitForCluster(t, rest, 2)
	via = anyFollower(rest, leader)
	waitFor(t, "the deployment successful under the new leader", 60*time.Second, func() (bool, error) {
		var d structs.Deployment
		if err := via.proc.get("/v1/deployment/"+rolling.ID, &d); err != nil {
			return false, err
		}
		if !d.Active() && d.Status != structs.DeploymentStatusSuccessful {
			t.Fatalf("deployment ended %s: %s", d.Status, d.StatusDescription)
		}
		return d.Status == structs.DeploymentStatusSuccessful, fmt.Errorf("deployment %s: %s", d.Status, d.StatusDescription)
	})
	if got := runningVersions(t, via.proc, "web"); got[1] != 4 || len(got) != 1 {
		t.Fatalf("running per version %v, want 4 on version 1 only", got)
	}
}
