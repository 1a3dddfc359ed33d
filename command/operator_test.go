package command

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/orch-io/orch/internal/agenttest"
)

// startServerAgent starts a server-only agent named operator-test and
// returns its API's address once the server leads.
func startServerAgent(t *testing.T) string {
	t.Helper()
	return agenttest.Start(t, agenttest.Options{NodeName: "operator-test"}).URL
}

func TestOperatorSchedulerConfigCLIAndHTTP(t *testing.T) {
	addr := startServerAgent(t)

	r := runCLI(t, "operator", "scheduler", "get-config", "-address", addr)
	if r.code != 0 {
		t.Fatalf("get-config: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "get-config", r.stdout, "Scheduler Algorithm           = binpack\n",
		"Sample Size                   = default\n", "Preemption System Scheduler   = true\n", "Modify Index                  = 0\n")

	r = runCLI(t, "operator", "scheduler", "set-config", "-address", addr, "-scheduler-algorithm=spread", "-sample-size", "32")
	if r.code != 0 || r.stdout != "Scheduler configuration updated!\n" {
		t.Fatalf("set-config: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "operator", "scheduler", "get-config", "-address", addr)
	mustContain(t, "get-config after set", r.stdout, "Scheduler Algorithm           = spread\n",
		"Sample Size                   = 32\n", "Preemption System Scheduler   = true\n")

	// The HTTP API answers Nomad's JSON.
	resp, err := http.Get(addr + "/v1/operator/scheduler/configuration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct {
		SchedulerConfig struct {
			SchedulerAlgorithm string
			SampleSize         int
			PreemptionConfig   struct{ SystemSchedulerEnabled bool }
			ModifyIndex        uint64
		}
		Index uint64
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("GET body %s: %v", body, err)
	}
	c := got.SchedulerConfig
	if c.SchedulerAlgorithm != "spread" || c.SampleSize != 32 || !c.PreemptionConfig.SystemSchedulerEnabled ||
		c.ModifyIndex == 0 || got.Index != c.ModifyIndex || resp.Header.Get("X-Nomad-Index") == "" {
		t.Fatalf("GET body %s (index header %q)", body, resp.Header.Get("X-Nomad-Index"))
	}

	// A stale -check-index changes nothing and fails.
	r = runCLI(t, "operator", "scheduler", "set-config", "-address", addr, "-scheduler-algorithm=binpack", "-check-index", "1")
	if r.code != 1 || !strings.Contains(r.stderr, "not updated") {
		t.Fatalf("stale check-index: exit %d, stderr %q", r.code, r.stderr)
	}

	// Bad input: a usage error from the CLI, a 400 from the API.
	if r = runCLI(t, "operator", "scheduler", "set-config", "-address", addr, "-scheduler-algorithm=random"); r.code != 2 {
		t.Fatalf("invalid algorithm: exit %d, want 2: %s", r.code, r.stderr)
	}
	req, _ := http.NewRequest(http.MethodPut, addr+"/v1/operator/scheduler/configuration", strings.NewReader(`{"SchedulerAlgorithm":"random"}`))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `SchedulerAlgorithm = "random"`) {
		t.Fatalf("PUT invalid: %d %s", resp.StatusCode, body)
	}

	// The current -check-index wins; options not given keep their value.
	r = runCLI(t, "operator", "scheduler", "set-config", "-address", addr, "-scheduler-algorithm=binpack",
		"-check-index", strconv.FormatUint(c.ModifyIndex, 10))
	if r.code != 0 {
		t.Fatalf("current check-index: exit %d: %s", r.code, r.stderr)
	}
	r = runCLI(t, "operator", "scheduler", "get-config", "-address", addr)
	mustContain(t, "get-config after CAS", r.stdout, "Scheduler Algorithm           = binpack\n", "Sample Size                   = 32\n")
}
