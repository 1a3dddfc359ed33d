package server

import (
	"fmt"
	"strings"

	"github.com/orch-io/orch/structs"
)

// jobWarnings lists what the servers accept in job but will not do as
// written, for the register and plan replies (Nomad's Warnings): memory_max
// while memory oversubscription is disabled (the tasks are limited to their
// memory). "" when nothing. Pure.
func jobWarnings(job *structs.Job, cfg *structs.SchedulerConfiguration) string {
	var out []string
	if cfg == nil || !cfg.MemoryOversubscriptionEnabled {
		for _, tg := range job.TaskGroups {
			for _, t := range tg.Tasks {
				if r := t.Resources; r != nil && r.MemoryMaxMB > 0 {
					out = append(out, fmt.Sprintf("* Memory oversubscription is not enabled; task \"%s.%s\" memory_max = %d will be ignored: it is limited to memory = %d MB. Enable it with `orch operator scheduler set-config -memory-oversubscription=true`.",
						tg.Name, t.Name, r.MemoryMaxMB, r.MemoryMB))
				}
			}
		}
	}
	return strings.Join(out, "\n")
}
