package command

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
)

// waitAutopilotSeeded waits until the agent's leader has stored its
// autopilot settings (its first autopilot pass), so that a set-config's
// check-and-set does not race the seed.
func waitAutopilotSeeded(t *testing.T, addr string) {
	t.Helper()
	if !waitFor(t, "the leader stored the autopilot configuration", func() bool {
		r := runCLI(t, "operator", "autopilot", "get-config", "-address", addr, "-t", "{{.ModifyIndex}}")
		return r.code == 0 && r.stdout != "0"
	}) {
		t.FailNow()
	}
}

func TestOperatorAutopilotConfigCLI(t *testing.T) {
	addr := startServerAgent(t)
	waitAutopilotSeeded(t, addr)

	r := runCLI(t, "operator", "autopilot", "get-config", "-address", addr)
	if r.code != 0 {
		t.Fatalf("get-config: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "get-config", r.stdout, "CleanupDeadServers      = true\n", "LastContactThreshold    = 200ms\n",
		"MaxTrailingLogs         = 100\n", "MinQuorum               = 0\n", "ServerStabilizationTime = 2s\n",
		"EnableRedundancyZones   = false\n")

	r = runCLI(t, "operator", "autopilot", "set-config", "-address", addr, "-cleanup-dead-servers=false",
		"-max-trailing-logs=250", "-min-quorum=2", "-last-contact-threshold=300ms", "-server-stabilization-time=10s")
	if r.code != 0 || r.stdout != "Configuration updated!\n" {
		t.Fatalf("set-config: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "operator", "autopilot", "get-config", "-address", addr)
	mustContain(t, "get-config after set", r.stdout, "CleanupDeadServers      = false\n", "LastContactThreshold    = 300ms\n",
		"MaxTrailingLogs         = 250\n", "MinQuorum               = 2\n", "ServerStabilizationTime = 10s\n")

	// Only the options given change.
	if r = runCLI(t, "operator", "autopilot", "set-config", "-address", addr, "-min-quorum=0"); r.code != 0 {
		t.Fatalf("set-config -min-quorum=0: exit %d: %s", r.code, r.stderr)
	}
	r = runCLI(t, "operator", "autopilot", "get-config", "-address", addr, "-json")
	var got struct {
		CleanupDeadServers      bool
		LastContactThreshold    string
		MaxTrailingLogs         uint64
		MinQuorum               uint
		ServerStabilizationTime string
		ModifyIndex             uint64
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("get-config -json %q: %v", r.stdout, err)
	}
	if got.CleanupDeadServers || got.LastContactThreshold != "300ms" || got.MaxTrailingLogs != 250 || got.MinQuorum != 0 ||
		got.ServerStabilizationTime != "10s" || got.ModifyIndex == 0 {
		t.Errorf("get-config -json = %+v", got)
	}

	// Bad input is a usage error naming the flag, and changes nothing.
	for _, bad := range [][]string{
		{"-last-contact-threshold=soon", "-last-contact-threshold"},
		{"-server-stabilization-time=-1s", "-server-stabilization-time"},
		{"-max-trailing-logs=-1", "-max-trailing-logs"},
		{"-min-quorum=-1", "-min-quorum"},
	} {
		r = runCLI(t, "operator", "autopilot", "set-config", "-address", addr, bad[0])
		if r.code != 2 || !strings.Contains(r.stderr, bad[1]) {
			t.Errorf("set-config %s: exit %d %q, want 2 naming %s", bad[0], r.code, r.stderr, bad[1])
		}
	}
	r = runCLI(t, "operator", "autopilot", "get-config", "-address", addr, "-t", "{{.MaxTrailingLogs}}")
	if r.stdout != "250" {
		t.Errorf("MaxTrailingLogs after refused changes = %q, want 250", r.stdout)
	}
}

func TestOperatorAutopilotHealthCLI(t *testing.T) {
	addr := startServerAgent(t)
	r := runCLI(t, "operator", "autopilot", "health", "-address", addr)
	if r.code != 0 {
		t.Fatalf("health: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "health", r.stdout, "Healthy: true\n", "FailureTolerance: 0\n", "Voters:\n\t",
		"ID  ", "SerfStatus", "StableSince", "operator-test")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	row := strings.Fields(lines[len(lines)-1])
	// ID Name Address SerfStatus Version Leader Voter Healthy LastContact ...
	if len(row) < 12 || row[1] != "operator-test" || row[3] != "alive" || row[5] != "true" || row[6] != "true" ||
		row[7] != "true" || row[8] != "0s" {
		t.Errorf("server row %q", lines[len(lines)-1])
	}

	r = runCLI(t, "operator", "autopilot", "health", "-address", addr, "-json")
	var got struct {
		Healthy bool
		Servers []struct {
			Name, SerfStatus, LastContact string
			Leader, Voter, Healthy        bool
			StableSince                   time.Time
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("health -json: exit %d %q: %v", r.code, r.stdout, err)
	}
	if !got.Healthy || len(got.Servers) != 1 || got.Servers[0].LastContact != "0s" || got.Servers[0].StableSince.IsZero() {
		t.Errorf("health -json = %+v", got)
	}
}

// The agent's autopilot block seeds the cluster's configuration.
func TestOperatorAutopilotSeededFromAgentConfig(t *testing.T) {
	addr := agenttest.Start(t, agenttest.Options{Configure: func(c *agent.Config) {
		c.Autopilot.CleanupDeadServers = false
		c.Autopilot.MaxTrailingLogs = 77
		c.Autopilot.LastContactThreshold = 1500 * time.Millisecond
	}}).URL
	waitAutopilotSeeded(t, addr)
	r := runCLI(t, "operator", "autopilot", "get-config", "-address", addr)
	mustContain(t, "get-config", r.stdout, "CleanupDeadServers      = false\n", "LastContactThreshold    = 1.5s\n",
		"MaxTrailingLogs         = 77\n", "ServerStabilizationTime = 2s\n")
}
