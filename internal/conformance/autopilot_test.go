package conformance

import (
	"net/http"
	"strings"
	"testing"
	"time"

	napi "github.com/hashicorp/nomad/api"
)

// testAutopilot drives the autopilot configuration and health through
// Nomad's client: the dev agent's seeded configuration, a set, a
// check-and-set that loses and one that wins, refusals naming the field,
// and the health of its one server.
func testAutopilot(t *testing.T, e *env) {
	op := e.nomad.Operator()
	var cfg *napi.AutopilotConfiguration
	// The leader stores its agent's settings at its first autopilot pass.
	waitFor(t, "the leader stored the autopilot configuration", func() bool {
		var err error
		cfg, _, err = op.AutopilotGetConfiguration(nil)
		if err != nil {
			t.Fatalf("autopilot configuration: %v", err)
		}
		return cfg.ModifyIndex > 0
	})
	// The dev agent's: orch's defaults, cleanup on.
	if !cfg.CleanupDeadServers || cfg.LastContactThreshold != 200*time.Millisecond || cfg.MaxTrailingLogs != 100 ||
		cfg.ServerStabilizationTime != 2*time.Second || cfg.MinQuorum != 0 || cfg.ModifyIndex == 0 || cfg.CreateIndex == 0 {
		t.Fatalf("seeded autopilot configuration = %+v", cfg)
	}
	strictGet[napi.AutopilotConfiguration](t, e.agent.URL, "/v1/operator/autopilot/configuration")

	want := napi.AutopilotConfiguration{CleanupDeadServers: false, LastContactThreshold: 750 * time.Millisecond,
		MaxTrailingLogs: 321, MinQuorum: 1, ServerStabilizationTime: 4 * time.Second}
	if _, err := op.AutopilotSetConfiguration(&want, nil); err != nil {
		t.Fatalf("set autopilot configuration: %v", err)
	}
	got, _, err := op.AutopilotGetConfiguration(nil)
	if err != nil || got.CleanupDeadServers || got.LastContactThreshold != want.LastContactThreshold || got.MaxTrailingLogs != 321 ||
		got.MinQuorum != 1 || got.ServerStabilizationTime != want.ServerStabilizationTime || got.ModifyIndex <= cfg.ModifyIndex ||
		got.CreateIndex != cfg.CreateIndex {
		t.Fatalf("autopilot configuration after the set = %+v %v", got, err)
	}

	// Check-and-set: a stale index loses (false, nothing written), the
	// current one wins.
	stale := *got
	stale.ModifyIndex = cfg.ModifyIndex
	stale.MaxTrailingLogs = 7
	if ok, _, err := op.AutopilotCASConfiguration(&stale, nil); err != nil || ok {
		t.Fatalf("CAS with a stale index = %v %v, want false", ok, err)
	}
	fresh := *got
	fresh.MaxTrailingLogs = 500
	if ok, _, err := op.AutopilotCASConfiguration(&fresh, nil); err != nil || !ok {
		t.Fatalf("CAS with the current index = %v %v, want true", ok, err)
	}
	if c, _, err := op.AutopilotGetConfiguration(nil); err != nil || c.MaxTrailingLogs != 500 {
		t.Fatalf("after the CAS: %+v %v, want MaxTrailingLogs 500", c, err)
	}
	// POST as PUT; the answer is a bare boolean, as Nomad's.
	raw := rawDo(t, e, "POST", "/v1/operator/autopilot/configuration", &napi.AutopilotConfiguration{CleanupDeadServers: true})
	if strings.TrimSpace(string(raw)) != "true" {
		t.Errorf("POST autopilot configuration answered %s, want true", raw)
	}
	// Zero durations and max trailing logs are stored as the defaults.
	if c, _, err := op.AutopilotGetConfiguration(nil); err != nil || !c.CleanupDeadServers ||
		c.LastContactThreshold != 200*time.Millisecond || c.MaxTrailingLogs != 100 || c.ServerStabilizationTime != 2*time.Second {
		t.Errorf("after a PUT of zeros: %+v %v, want the defaults", c, err)
	}

	// Refusals, each naming the field.
	for _, bad := range []struct {
		body, want string
	}{
		{`{"EnableRedundancyZones": true}`, "EnableRedundancyZones = true: not supported"},
		{`{"DisableUpgradeMigration": true}`, "DisableUpgradeMigration = true: not supported"},
		{`{"EnableCustomUpgrades": true}`, "EnableCustomUpgrades = true: not supported"},
		{`{"LastContactThreshold": "-1s"}`, "LastContactThreshold = -1s: must be >= 0"},
		{`{"ServerStabilizationTime": "soon"}`, `ServerStabilizationTime = "soon": must be a duration`},
		{`{"MaxTrailingLogs": -1}`, "MaxTrailingLogs"},
		{`{"Bogus": 1}`, "Bogus"},
	} {
		code, msg := rawStatus(t, e, "PUT", "/v1/operator/autopilot/configuration", bad.body)
		if code != http.StatusBadRequest || !strings.Contains(msg, bad.want) {
			t.Errorf("PUT %s: %d %q, want 400 naming %q", bad.body, code, msg, bad.want)
		}
	}
	if code, msg := rawStatus(t, e, "PUT", "/v1/operator/autopilot/configuration?cas=x", `{}`); code != http.StatusBadRequest || !strings.Contains(msg, "cas") {
		t.Errorf("PUT ?cas=x: %d %q, want 400 naming cas", code, msg)
	}
	// Nomad's client's refusal goes through too.
	if _, err := op.AutopilotSetConfiguration(&napi.AutopilotConfiguration{EnableRedundancyZones: true}, nil); err == nil ||
		!strings.Contains(err.Error(), "EnableRedundancyZones") {
		t.Errorf("EnableRedundancyZones through Nomad's client: %v, want a refusal naming it", err)
	}

	// Health: the dev agent's one server leads, healthy, voter.
	h, _, err := op.AutopilotServerHealth(nil)
	if err != nil {
		t.Fatalf("autopilot health: %v", err)
	}
	if !h.Healthy || h.FailureTolerance != 0 || len(h.Servers) != 1 || len(h.Voters) != 1 || h.Leader == "" {
		t.Fatalf("autopilot health = %+v", h)
	}
	s := h.Servers[0]
	if s.ID != h.Leader || !s.Leader || !s.Voter || !s.Healthy || s.SerfStatus != "alive" || s.Name == "" || s.Address == "" ||
		s.Version == "" || s.LastContact != 0 || s.LastIndex == 0 || s.LastTerm == 0 || s.StableSince.IsZero() {
		t.Errorf("the server's health = %+v", s)
	}
	strictGet[napi.OperatorHealthReply](t, e.agent.URL, "/v1/operator/autopilot/health")
}
