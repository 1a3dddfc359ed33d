// Package jobspec turns a job file written in HCL2 into a *structs.Job. It is
// the only parser of job files in orch: the CLI calls it before sending a job
// to the servers (`orch job run app.hcl`), so users see positioned errors
// (file:line:col) before anything leaves their machine.
//
// The syntax is Nomad's job specification, for the parts orch supports: job,
// group and task blocks, constraint, restart, ephemeral_disk, a group's network
// (mode "host", port blocks with static and to), resources, meta, env and
// config, plus variable and locals blocks, -var / -var-file / ORCH_VAR_
// values and the HCL standard functions (upper, format, join, merge, ...).
// Service (with checks) and template blocks are decoded too (service.go).
// Blocks and arguments of Nomad that orch does not implement yet (vault,
// update, a task's network, ...) are reported as such, by position,
// instead of being silently dropped.
//
// Runtime interpolations are not HCL variables: `${attr.kernel.name}`,
// `${node.datacenter}`, `${meta.rack}`, `${NOMAD_ALLOC_ID}`, `${env["HOME"]}`
// and every other reference whose root is not `var` or `local` is kept as the
// literal text the user wrote, for the scheduler (constraints) or the client
// (task config and env) to resolve later.
//
// After decoding, the job is canonicalized (structs.Job.Canonicalize) and
// validated (structs.Job.Validate); validation problems are reported at the
// block or attribute they are about. Every problem is reported at once, in an
// *Error that holds the hcl.Diagnostics.
package jobspec
