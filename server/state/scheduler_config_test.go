package state

import (
	"bytes"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestSchedulerConfigUpsertCASAndPersist(t *testing.T) {
	s := NewStateStore()
	if c := s.SchedulerConfig(); c.SchedulerAlgorithm != structs.SchedulerAlgorithmBinpack || c.ModifyIndex != 0 {
		t.Fatalf("default %+v", c)
	}
	ok, err := s.UpsertSchedulerConfig(5, &structs.SchedulerConfiguration{SchedulerAlgorithm: structs.SchedulerAlgorithmSpread}, false)
	must(t, err)
	if !ok || s.SchedulerConfig().ModifyIndex != 5 || s.Index(TableSchedulerConfig) != 5 {
		t.Fatalf("after upsert at 5: updated %v, %+v", ok, s.SchedulerConfig())
	}
	ok, err = s.UpsertSchedulerConfig(6, &structs.SchedulerConfiguration{ModifyIndex: 4}, true)
	must(t, err)
	if ok || s.SchedulerConfig().SchedulerAlgorithm != structs.SchedulerAlgorithmSpread {
		t.Fatalf("a CAS write with a stale index changed the configuration")
	}
	ok, err = s.UpsertSchedulerConfig(7, &structs.SchedulerConfiguration{SampleSize: 9, ModifyIndex: 5}, true)
	must(t, err)
	if c := s.SchedulerConfig(); !ok || c.SampleSize != 9 || c.CreateIndex != 5 || c.ModifyIndex != 7 {
		t.Fatalf("after CAS at 7: updated %v, %+v", ok, c)
	}

	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := NewStateStore()
	must(t, r.Restore(&buf))
	if c := r.SchedulerConfig(); c.SampleSize != 9 || c.ModifyIndex != 7 || r.Index(TableSchedulerConfig) != 7 {
		t.Fatalf("restored %+v (index %d)", c, r.Index(TableSchedulerConfig))
	}
}
