package structs

import "time"

// Defaults filled by Canonicalize, as in Nomad.
const (
	DefaultKillTimeout     = 5 * time.Second
	DefaultKillSignal      = "SIGINT"
	DefaultTaskCPU         = 100 // MHz
	DefaultTaskMemoryMB    = 300
	DefaultEphemeralDiskMB = 300
)

// DefaultRestartPolicy returns a fresh copy of the restart policy a group of a
// job of type jobType gets when it has no restart block (Nomad's defaults):
// service jobs 2 attempts in 30m with a 15s delay, batch jobs 3 attempts in 24h
// with a 15s delay, both in mode "fail". sysbatch jobs get the batch policy;
// any other type (including "" and "system") gets the service policy.
//
// A parser that reads a restart block setting only some fields starts from this
// value and overrides what the block sets; that is how a partial block is merged
// with the defaults, because a RestartPolicy cannot tell "unset" from zero.
func DefaultRestartPolicy(jobType JobType) *RestartPolicy {
	if jobType == JobTypeBatch || jobType == JobTypeSysBatch {
		return &RestartPolicy{Attempts: 3, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: RestartPolicyModeFail}
	}
	return &RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: RestartPolicyModeFail}
}

// Canonicalize fills the defaults of a job and everything in it, as Nomad does:
//
//   - job: Namespace "default", Region "global", Name = ID, Type "service",
//     Priority 50, Datacenters ["*"], NodePool "default", when empty or zero;
//   - group: RestartPolicy = DefaultRestartPolicy(Type), ReschedulePolicy =
//     DefaultReschedulePolicy(Type), Migrate = DefaultMigrateStrategy(Type)
//     and EphemeralDisk 300 MB when nil; network Mode "host" when empty;
//     Update = a copy of the job's when nil (dropped in batch jobs),
//     HealthCheck "checks" when empty;
//   - task: KillTimeout 5s when zero, KillSignal "SIGINT" when empty, Resources
//     cpu 100 MHz and memory 300 MB when nil, and each of cpu and memory that is
//     zero gets its default;
//   - constraint: Operand "" "==" "is" become "=", "not" becomes "!=".
//
// Count is left alone: zero is a legal count (a group scaled to nothing), and
// the struct cannot tell it from "unset". Whoever builds a job from user input
// sets Count to 1 when the user said nothing (jobspec does; the HTTP API's
// decoder must too). Likewise an explicit kill timeout of zero cannot be
// expressed: zero means "default".
//
// It never validates and never fails; nil groups, tasks and constraints are
// skipped (Validate reports them). Call Validate afterwards. It modifies j in
// place: never call it on a job read from the state store (Copy it first).
func (j *Job) Canonicalize() {
	if j == nil {
		return
	}
	if j.Namespace == "" {
		j.Namespace = DefaultNamespace
	}
	if j.Region == "" {
		j.Region = DefaultRegion
	}
	if j.Name == "" {
		j.Name = j.ID
	}
	if j.Type == "" {
		j.Type = JobTypeService
	}
	if j.Priority == 0 {
		j.Priority = DefaultJobPriority
	}
	if len(j.Datacenters) == 0 {
		j.Datacenters = []string{"*"}
	}
	if j.NodePool == "" {
		j.NodePool = NodePoolDefault
	}
	canonicalizeConstraints(j.Constraints)
	if p := j.Periodic; p != nil {
		if p.SpecType == "" {
			p.SpecType = PeriodicSpecCron
		}
		if p.TimeZone == "" {
			p.TimeZone = "UTC"
		}
	}
	if p := j.ParameterizedJob; p != nil && p.Payload == "" {
		p.Payload = DispatchPayloadOptional
	}
	for _, tg := range j.TaskGroups {
		tg.canonicalize(j.Type)
		if tg != nil {
			canonicalizeServices(tg.Services, j.Name, tg.Name, "")
			for _, t := range tg.Tasks {
				if t != nil {
					canonicalizeServices(t.Services, j.Name, tg.Name, t.Name)
					canonicalizeTemplates(t.Templates)
				}
			}
			tg.canonicalizeUpdate(j.Update, j.Type)
		}
	}
	if j.Type == JobTypeBatch || j.Type == JobTypeSysBatch {
		j.Update = nil
	}
}

func (tg *TaskGroup) canonicalize(jobType JobType) {
	if tg == nil {
		return
	}
	if tg.RestartPolicy == nil {
		tg.RestartPolicy = DefaultRestartPolicy(jobType)
	}
	if tg.ReschedulePolicy == nil {
		tg.ReschedulePolicy = DefaultReschedulePolicy(jobType)
	}
	if tg.Migrate == nil {
		tg.Migrate = DefaultMigrateStrategy(jobType)
	}
	if tg.EphemeralDisk == nil {
		tg.EphemeralDisk = &EphemeralDisk{SizeMB: DefaultEphemeralDiskMB}
	}
	canonicalizeConstraints(tg.Constraints)
	for _, n := range tg.Networks {
		if n != nil && n.Mode == "" {
			n.Mode = NetworkModeHost
		}
	}
	for _, t := range tg.Tasks {
		t.canonicalize()
	}
}

func (t *Task) canonicalize() {
	if t == nil {
		return
	}
	if t.KillTimeout == 0 {
		t.KillTimeout = DefaultKillTimeout
	}
	if t.KillSignal == "" {
		t.KillSignal = DefaultKillSignal
	}
	if t.Resources == nil {
		t.Resources = &Resources{}
	}
	if t.Resources.CPU == 0 && t.Resources.Cores == 0 { // cores stand for cpu
		t.Resources.CPU = DefaultTaskCPU
	}
	if t.Resources.MemoryMB == 0 {
		t.Resources.MemoryMB = DefaultTaskMemoryMB
	}
	canonicalizeConstraints(t.Constraints)
}

// NormalizeConstraintOperand maps the spellings Nomad accepts for the operands
// to their canonical form: "", "=", "==", "is" → "=" and "!=", "not" → "!=";
// every other operand Nomad documents (structs/constraint.go) is itself. ok is
// false for anything else (op is then returned unchanged).
func NormalizeConstraintOperand(op string) (canonical string, ok bool) {
	switch op {
	case "", ConstraintEqual, "==", "is":
		return ConstraintEqual, true
	case ConstraintNotEqual, "not":
		return ConstraintNotEqual, true
	case ConstraintLess, ConstraintLessEqual, ConstraintGreater, ConstraintGreaterEqual,
		ConstraintRegex, ConstraintVersion, ConstraintSemver,
		ConstraintSetContains, ConstraintSetContainsAll, ConstraintSetContainsAny,
		ConstraintAttributeIsSet, ConstraintAttributeIsNot,
		ConstraintDistinctHosts, ConstraintDistinctProperty:
		return op, true
	}
	return op, false
}

func canonicalizeConstraints(cs []*Constraint) {
	for _, c := range cs {
		if c == nil {
			continue
		}
		if op, ok := NormalizeConstraintOperand(c.Operand); ok {
			c.Operand = op
		}
	}
}
