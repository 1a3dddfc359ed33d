package state

import (
	"bytes"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestAutopilotConfigUpsertCASAndPersist(t *testing.T) {
	s := NewStateStore()
	if c := s.AutopilotConfig(); c != nil {
		t.Fatalf("a new store holds %+v, want none", c)
	}
	// The seed's CAS on "none stored" (0) succeeds once.
	ok, err := s.UpsertAutopilotConfig(5, &structs.AutopilotConfig{CleanupDeadServers: true, MaxTrailingLogs: 100}, true)
	must(t, err)
	if c := s.AutopilotConfig(); !ok || c == nil || c.CreateIndex != 5 || c.ModifyIndex != 5 || s.Index(TableAutopilotConfig) != 5 {
		t.Fatalf("after the seed at 5: updated %v, %+v", ok, c)
	}
	ok, err = s.UpsertAutopilotConfig(6, &structs.AutopilotConfig{MaxTrailingLogs: 1}, true)
	must(t, err)
	if ok || s.AutopilotConfig().MaxTrailingLogs != 100 {
		t.Fatalf("a second seed (CAS 0) changed the stored configuration: %+v", s.AutopilotConfig())
	}
	ok, err = s.UpsertAutopilotConfig(7, &structs.AutopilotConfig{MaxTrailingLogs: 250, LastContactThreshold: time.Second, ModifyIndex: 5}, true)
	must(t, err)
	if c := s.AutopilotConfig(); !ok || c.MaxTrailingLogs != 250 || c.CreateIndex != 5 || c.ModifyIndex != 7 {
		t.Fatalf("after CAS at 7: updated %v, %+v", ok, c)
	}
	ok, err = s.UpsertAutopilotConfig(8, &structs.AutopilotConfig{MinQuorum: 3}, false)
	must(t, err)
	if c := s.AutopilotConfig(); !ok || c.MinQuorum != 3 || c.MaxTrailingLogs != 0 || c.ModifyIndex != 8 {
		t.Fatalf("after a plain write at 8: updated %v, %+v", ok, c)
	}

	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := NewStateStore()
	must(t, r.Restore(&buf))
	if c := r.AutopilotConfig(); c == nil || c.MinQuorum != 3 || c.CreateIndex != 5 || c.ModifyIndex != 8 || r.Index(TableAutopilotConfig) != 8 {
		t.Fatalf("restored %+v (index %d)", c, r.Index(TableAutopilotConfig))
	}
}
