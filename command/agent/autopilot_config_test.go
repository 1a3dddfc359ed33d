package agent

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestApplyFileAutopilot(t *testing.T) {
	c := DefaultConfig()
	path := writeConfig(t, "agent.hcl", `
autopilot {
  cleanup_dead_servers      = false
  dead_server_cleanup_time  = "10m"
  server_stabilization_time = "5s"
  max_trailing_logs         = 250
  min_quorum                = 3
  last_contact_threshold    = "750ms"
}
`)
	if err := c.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	want := AutopilotConfig{CleanupDeadServers: false, DeadServerCleanupTime: 10 * time.Minute,
		ServerStabilizationTime: 5 * time.Second, MaxTrailingLogs: 250, MinQuorum: 3, LastContactThreshold: 750 * time.Millisecond}
	if c.Autopilot != want {
		t.Fatalf("Autopilot = %+v, want %+v", c.Autopilot, want)
	}

	// A file without the block keeps cleanup on (Nomad's default).
	c = DefaultConfig()
	if err := c.ApplyFile(writeConfig(t, "other.hcl", `data_dir = "/data"`)); err != nil {
		t.Fatal(err)
	}
	if !c.Autopilot.CleanupDeadServers {
		t.Fatal("cleanup_dead_servers defaults to false; want true")
	}
}

func TestApplyFileAutopilotBadDurationChangesNothing(t *testing.T) {
	c := DefaultConfig()
	before := *c
	err := c.ApplyFile(writeConfig(t, "agent.hcl", `
data_dir = "/data"
autopilot {
  dead_server_cleanup_time = "later"
}
`))
	if err == nil || !strings.Contains(err.Error(), `autopilot.dead_server_cleanup_time = "later"`) || !strings.Contains(err.Error(), "agent.hcl") {
		t.Fatalf("err = %v, want it to name the file and autopilot.dead_server_cleanup_time", err)
	}
	if !reflect.DeepEqual(*c, before) {
		t.Fatalf("a file with a bad value half-applied: %+v", c)
	}
}

func TestValidateAutopilot(t *testing.T) {
	c := DefaultConfig()
	c.DataDir = "/var/lib/orch"
	c.Server = ServerConfig{Enabled: true, BootstrapExpect: 3}
	c.Autopilot = AutopilotConfig{DeadServerCleanupTime: -time.Second, ServerStabilizationTime: -time.Second, MaxTrailingLogs: -1, MinQuorum: -1,
		LastContactThreshold: -time.Millisecond}
	err := c.Validate()
	for _, want := range []string{
		`autopilot.dead_server_cleanup_time = -1s: must be >= 0 (0: 5m0s)`,
		`autopilot.server_stabilization_time = -1s: must be >= 0 (0: 2s)`,
		`autopilot.max_trailing_logs = -1: must be >= 0 (0: 100)`,
		`autopilot.min_quorum = -1: must be >= 0 (0: the quorum of bootstrap_expect)`,
		`autopilot.last_contact_threshold = -1ms: must be >= 0 (0: 200ms)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to contain %q", err, want)
		}
	}
}
