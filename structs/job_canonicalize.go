package structs

// Canonicalize fills the defaults of a job and everything in it, as Nomad does:
// Namespace "default", Region "global", Priority 50, Datacenters ["*"], Name = ID,
// group Count 1, RestartPolicy per job type, EphemeralDisk 300 MB, task
// KillTimeout 5s, KillSignal SIGINT, Resources cpu 100 memory 300.
// It never validates and never fails; call Validate afterwards.
//
// TODO(#2): filled in by the jobspec work.
func (j *Job) Canonicalize() {}
