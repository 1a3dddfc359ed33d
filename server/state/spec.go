package state

import "github.com/orch-io/orch/structs"

// SpecChanged reports whether job differs from old in its specification,
// ignoring what the servers own (status, version, indexes, submit time): the
// rule UpsertJob uses to decide whether a registration is a new version.
// `job plan` asks it to predict that decision.
func SpecChanged(old, job *structs.Job) (bool, error) { return specChanged(old, job) }
