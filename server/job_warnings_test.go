package server

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestJobWarningsMemoryMaxWithoutOversubscription(t *testing.T) {
	job := &structs.Job{TaskGroups: []*structs.TaskGroup{{Name: "web", Tasks: []*structs.Task{
		{Name: "a", Resources: &structs.Resources{CPU: 100, MemoryMB: 64, MemoryMaxMB: 256}},
		{Name: "b", Resources: &structs.Resources{CPU: 100, MemoryMB: 64}},
	}}}}
	got := jobWarnings(job, structs.DefaultSchedulerConfiguration())
	if !strings.Contains(got, `task "web.a" memory_max = 256 will be ignored: it is limited to memory = 64 MB`) || strings.Contains(got, "web.b") {
		t.Fatalf("warnings = %q", got)
	}
	if got := jobWarnings(job, &structs.SchedulerConfiguration{MemoryOversubscriptionEnabled: true}); got != "" {
		t.Fatalf("with oversubscription: warnings = %q, want none", got)
	}
}
