package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/internal/tracing/tracingtest"
	"github.com/orch-io/orch/structs"
)

// TestFollowOneWriteAcrossTheCluster: one job registered through a follower
// of a three-server cluster and run by a client agent (four processes, all
// exporting traces to the test's OTLP receiver) is followed two ways: its
// request ID is in the log of every agent it touched, and its trace holds
// spans of the follower (HTTP, the forwarded RPC), the leader (RPC, Raft
// apply, scheduler, plan) and the client (task start), linked parent to
// child across the processes.
func TestFollowOneWriteAcrossTheCluster(t *testing.T) {
	rcv := tracingtest.NewReceiver(t)
	telemetry := fmt.Sprintf("telemetry {\n  otlp_endpoint = %q\n}\n", rcv.Endpoint())
	serverCfg := filepath.Join(t.TempDir(), "server.hcl")
	clientCfg := filepath.Join(t.TempDir(), "client.hcl")
	if err := os.WriteFile(serverCfg, []byte(telemetry), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(clientCfg, []byte(telemetry+rawExecConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	servers, _ := startServers(t, "trace-s", 3, "-config", serverCfg)
	leader := waitForCluster(t, servers, 3)
	follower := anyFollower(servers, leader)
	client := startAgent(t, t.TempDir(), freePorts(t), "-client", "-servers", follower.rpcAddr(),
		"-node", "trace-client", "-log-level", "DEBUG", "-config", clientCfg)

	const (
		requestID = "e2e-follow-0001"
		traceID   = "0af7651916cd43dd8448eb211c80319c"
	)
	job := structstest.Job("traced")
	job.Datacenters = []string{"*"}
	job.TaskGroups[0].Tasks[0].Resources.MemoryMB = 32
	body, err := json.Marshal(map[string]any{"Job": job})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("PUT", follower.proc.addr()+"/v1/jobs", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Orch-Request-ID", requestID)
	req.Header.Set("traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
	// The client may still be registering: the write is placed once it is.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Orch-Trace-ID") != traceID {
		t.Fatalf("register through follower %s: %s, X-Orch-Trace-ID %q", follower.name, resp.Status, resp.Header.Get("X-Orch-Trace-ID"))
	}
	waitFor(t, "the traced job to run on the client", 60*time.Second, func() (bool, error) {
		var allocs []*structs.AllocListStub
		if err := follower.proc.get("/v1/job/traced/allocations", &allocs); err != nil {
			return false, err
		}
		return len(runningAllocs(allocs)) == 1, nil
	})

	// The request ID, in every agent's log: the follower took the request,
	// the leader committed and scheduled it, every server applied it, the
	// client ran it.
	agents := map[string]*agentProc{"client": client}
	for _, s := range servers {
		agents[s.name] = s.proc
	}
	waitFor(t, "the request ID in every agent's log", 30*time.Second, func() (bool, error) {
		for name, a := range agents {
			b, err := os.ReadFile(a.logPath)
			if err != nil {
				return false, err
			}
			if !bytes.Contains(b, []byte(requestID)) {
				t.Logf("not yet in the log of %s", name)
				return false, nil
			}
		}
		return true, nil
	})

	// The trace: spans of the follower, the leader and the client, linked.
	links := [][2]string{
		{"rpc Job.Register", "http PUT /v1/jobs"}, // on the follower
		{"rpc Job.Register", "rpc Job.Register"},  // the leader's, under the follower's
		{"raft apply JobRegister", "rpc Job.Register"},
		{"scheduler eval", "raft apply JobRegister"},
		{"plan submit", "scheduler eval"},
		{"plan apply", "plan submit"},
		{"client alloc run", "plan submit"},
		{"task start", "client alloc run"},
	}
	var tree tracingtest.Tree
	waitFor(t, "the trace's spans from every process", 30*time.Second, func() (bool, error) {
		tree = tracingtest.NewTree(rcv.Trace(traceID))
		for _, l := range links {
			if why := tree.CheckParent(l[0], l[1]); why != "" {
				t.Logf("trace not complete yet: %s", why)
				return false, nil
			}
		}
		return true, nil
	})
	instances := map[string]bool{}
	for _, s := range tree {
		instances[s.Instance] = true
	}
	// The leader is whoever applied the write (an election in between
	// moves it; the follower forwarded either way).
	applied := tree.Named("raft apply JobRegister")[0].Instance
	if applied == follower.name {
		t.Errorf("the write was applied on %s, the follower that took it: not forwarded", applied)
	}
	for _, want := range []string{follower.name, applied, "trace-client"} {
		if !instances[want] {
			t.Errorf("no span from %s; spans: %s", want, tree.Names())
		}
	}
	if h := tree.Named("http PUT /v1/jobs"); len(h) != 1 || h[0].Instance != follower.name {
		t.Errorf("http spans %+v, want one, on %s", h, follower.name)
	}
	t.Logf("trace %s: %s", traceID, strings.ReplaceAll(tree.Names(), ", ", "\n  "))
}
