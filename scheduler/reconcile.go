package scheduler

import (
	"reflect"
	"slices"
	"time"

	"github.com/orch-io/orch/structs"
)

// Why the scheduler stops an allocation (DesiredDescription), as Nomad words it.
const (
	allocNotNeeded  = "alloc not needed due to job update"
	allocJobStopped = "alloc not needed since job is stopped"
	allocLost       = "alloc is lost since its node is down"
	allocUpdating   = "alloc is being updated due to job modification"
	allocMigrating  = "alloc is being migrated"
)

// reconcileInput is everything the reconciler looks at. It reads no state of
// its own: the caller gathers these from a snapshot.
type reconcileInput struct {
	// Job is the job as it is now; nil when it was purged.
	Job   *structs.Job
	Batch bool
	// Allocs are every allocation of the job, terminal ones included. They are
	// shared with the state store: the reconciler never modifies them.
	Allocs []*structs.Allocation
	// TaintedNodes are the nodes, among those the allocations sit on, that can
	// no longer run them: down, or gone from the state.
	TaintedNodes map[string]bool
	// Now decides whether a failed allocation's reschedule delay has passed.
	// It is also the creation time of a deployment the plan creates.
	Now time.Time
	// EvalID is the evaluation being processed: a failed allocation whose
	// follow-up evaluation it is may be replaced now (see reconcile_reschedule.go).
	EvalID string
	// Deployment is the job's latest deployment, nil if none
	// (reconcile_update.go); DeploymentID the ID a deployment this plan
	// creates gets.
	Deployment   *structs.Deployment
	DeploymentID string
}

// reconcileResult is what must change for a job to match its specification.
// Later work (deployments, rescheduling, canaries) adds buckets here.
type reconcileResult struct {
	// Place lists new allocations to find nodes for, ordered by group (in job
	// order), then by index.
	Place []placement
	// Stop lists allocations to stop now, whatever happens to the placements.
	Stop []stopDecision
	// InPlace lists allocations that run an older version of the job whose
	// group changed in nothing that needs a new allocation (a count change):
	// they move to the current version where they are.
	InPlace []*structs.Allocation
	// Ignore lists allocations left as they are.
	Ignore []*structs.Allocation
	// RescheduleLater lists failed allocations to replace once their
	// policy's delay has passed, and that have no follow-up evaluation yet.
	RescheduleLater []delayedReschedule
	// Deployment is created with the plan; DeploymentUpdates cancel
	// superseded deployments (reconcile_update.go).
	Deployment        *structs.Deployment
	DeploymentUpdates []*structs.DeploymentStatusUpdate
}

// placement is one allocation to place.
type placement struct {
	TaskGroup *structs.TaskGroup
	Name      string // structs.AllocName(job, group, Index)
	Index     int
	// Previous is the allocation this one replaces (lost, or being updated),
	// nil for an index that had none.
	Previous *structs.Allocation
	// StopPrevious, when not empty, is the description with which Previous is
	// stopped if, and only if, the replacement is placed: a running allocation
	// is not taken down for a replacement that finds no node. When empty,
	// Previous (if any) is already in reconcileResult.Stop.
	StopPrevious string
	// Reschedule: Previous failed and its reschedule policy allows this
	// replacement, after waiting Delay; the replacement carries its tracker.
	Reschedule bool
	Delay      time.Duration
	// DeploymentID is the deployment the allocation is placed by; Canary
	// marks a canary of it (reconcile_update.go).
	DeploymentID string
	Canary       bool
}

// stopDecision is one allocation to stop, and why.
type stopDecision struct {
	Alloc       *structs.Allocation
	Description string
}

// allocClass is the bucket an existing allocation falls into.
type allocClass int

const (
	// classGone: terminal and not holding its name; it does not count.
	classGone allocClass = iota
	// classDone: terminal, but holds its name and is never replaced.
	classDone
	// classOrphan: its group is no longer in the job; stop it.
	classOrphan
	// classLost: its node is down or gone; stop and replace it.
	classLost
	// classDestructive: runs an older version whose group changed; replace it.
	classDestructive
	// classInPlace: runs an older version; nothing that needs a new
	// allocation changed; update it in place.
	classInPlace
	// classCurrent: runs the current version; keep it.
	classCurrent
	// classRescheduleNow: failed, and its reschedule policy allows a
	// replacement now; replace it (it is already terminal: nothing to stop).
	classRescheduleNow
	// classRescheduleLater: failed, and its policy allows a replacement
	// once its delay has passed; it holds its name until then.
	classRescheduleLater
	// classMigrate: marked for migration (node drain, alloc stop); replace
	// it, stopping it once the replacement is placed.
	classMigrate
)

var allocClassNames = [...]string{"gone", "done", "orphan", "lost", "destructive", "in-place", "current",
	"reschedule-now", "reschedule-later", "migrate"}

func (c allocClass) String() string { return allocClassNames[c] }

// keepPreference orders allocations that claim the same index: the lower is
// kept. A healthy current allocation beats one that must be replaced.
var keepPreference = map[allocClass]int{
	classCurrent: 0, classInPlace: 1, classDestructive: 2, classMigrate: 2, classDone: 3, classRescheduleLater: 3,
	classRescheduleNow: 4, classLost: 5,
}

// classifyRule is one row of the classification table: the first row whose
// match is true gives an allocation its class.
type classifyRule struct {
	class allocClass
	why   string
	match func(c *classifier, a *structs.Allocation) bool
}

// classifyRules classify the allocations of a job that is not stopped. Order
// matters: terminal states first, then the node, then the version.
var classifyRules = []classifyRule{
	{classGone, "the servers already stopped it",
		func(_ *classifier, a *structs.Allocation) bool { return a.ServerTerminal() }},
	{classGone, "its client reported it lost",
		func(_ *classifier, a *structs.Allocation) bool {
			return a.ClientStatus == structs.AllocClientStatusLost
		}},
	{classGone, "it finished under an earlier job of the same ID, since purged",
		func(c *classifier, a *structs.Allocation) bool { return a.ClientTerminal() && c.earlierJob(a) }},
	{classGone, "it finished under a version whose group changed (or went) since",
		func(c *classifier, a *structs.Allocation) bool { return a.ClientTerminal() && c.destructive(a) }},
	{classDone, "a batch allocation that completed is done",
		func(c *classifier, a *structs.Allocation) bool {
			return c.batch && a.ClientStatus == structs.AllocClientStatusComplete
		}},
	// Failed allocations are replaced by the group's reschedule policy
	// (reconcile_reschedule.go).
	{classGone, "it failed and was replaced already",
		func(_ *classifier, a *structs.Allocation) bool { return failed(a) && a.NextAllocation != "" }},
	{classRescheduleNow, "it failed and its reschedule policy allows a replacement now",
		func(c *classifier, a *structs.Allocation) bool { return failed(a) && c.rescheduleNow(a) }},
	{classRescheduleLater, "it failed and its reschedule policy allows a replacement after a delay",
		func(c *classifier, a *structs.Allocation) bool { return failed(a) && c.verdict(a).Possible }},
	{classDone, "it failed and its reschedule policy allows no more replacements",
		func(_ *classifier, a *structs.Allocation) bool { return failed(a) }},
	{classGone, "a service allocation that completed must run again",
		func(_ *classifier, a *structs.Allocation) bool { return a.ClientTerminal() }},
	{classOrphan, "its group is no longer in the job",
		func(c *classifier, a *structs.Allocation) bool { return c.job.LookupTaskGroup(a.TaskGroup) == nil }},
	{classLost, "its node is down or gone",
		func(c *classifier, a *structs.Allocation) bool { return c.tainted[a.NodeID] }},
	{classMigrate, "it is marked for migration (node drain, alloc stop)",
		func(_ *classifier, a *structs.Allocation) bool { return a.DesiredTransition.Migrate }},
	{classDestructive, "it runs an older version whose group changed",
		func(c *classifier, a *structs.Allocation) bool { return c.destructive(a) }},
	{classInPlace, "it runs an older version whose group changed only in count",
		func(c *classifier, a *structs.Allocation) bool { return c.versionChanged(a) }},
	{classCurrent, "it runs the current version",
		func(*classifier, *structs.Allocation) bool { return true }},
}

// classifier holds what the rules consult, and caches the comparison of an
// older job version's group with the current one (many allocations share it).
type classifier struct {
	job     *structs.Job
	batch   bool
	tainted map[string]bool
	changed map[versionGroup]bool
	// now and evalID decide reschedules; verdicts caches them by alloc ID.
	now      time.Time
	evalID   string
	verdicts map[string]structs.RescheduleVerdict
}

type versionGroup struct {
	job   *structs.Job
	group string
}

func newClassifier(job *structs.Job, batch bool, tainted map[string]bool, now time.Time, evalID string) *classifier {
	return &classifier{job: job, batch: batch, tainted: tainted, changed: map[versionGroup]bool{},
		now: now, evalID: evalID, verdicts: map[string]structs.RescheduleVerdict{}}
}

// classify returns a's class and the rule's reason.
func (c *classifier) classify(a *structs.Allocation) (allocClass, string) {
	for _, r := range classifyRules {
		if r.match(c, a) {
			return r.class, r.why
		}
	}
	panic("scheduler: classifyRules has no catch-all row") // the last row always matches
}

// versionChanged reports whether a runs another version of the job than the current one.
func (c *classifier) versionChanged(a *structs.Allocation) bool {
	return a.Job != nil && a.Job.JobModifyIndex != c.job.JobModifyIndex
}

// earlierJob reports whether a was placed for an earlier job registered
// under the same ID, purged since: a job registered again after a purge is
// created anew, at a later index, and starts from nothing.
func (c *classifier) earlierJob(a *structs.Allocation) bool {
	return a.Job != nil && a.Job.CreateIndex != c.job.CreateIndex
}

// destructive reports whether a runs an older version whose group changed in
// a way that needs a new allocation.
func (c *classifier) destructive(a *structs.Allocation) bool {
	if !c.versionChanged(a) {
		return false
	}
	key := versionGroup{a.Job, a.TaskGroup}
	v, ok := c.changed[key]
	if !ok {
		v = groupChangedDestructively(a.Job, c.job, a.TaskGroup)
		c.changed[key] = v
	}
	return v
}

// groupChangedDestructively reports whether group changed between two versions
// of a job in a way an allocation cannot follow where it runs: its tasks
// (driver, config, resources, env, ...), its disk, its network (ports), its
// constraints, affinities and spreads (as in Nomad: where it should run
// changed) or the meta its tasks see. A change of count, or of the restart
// policy, is not one.
func groupChangedDestructively(old, cur *structs.Job, group string) bool {
	og, cg := old.LookupTaskGroup(group), cur.LookupTaskGroup(group)
	if og == nil || cg == nil {
		return true
	}
	return !reflect.DeepEqual(og.Tasks, cg.Tasks) ||
		!reflect.DeepEqual(og.EphemeralDisk, cg.EphemeralDisk) ||
		!reflect.DeepEqual(og.Networks, cg.Networks) ||
		!reflect.DeepEqual(og.Constraints, cg.Constraints) ||
		!reflect.DeepEqual(og.Meta, cg.Meta) ||
		!reflect.DeepEqual(og.Affinities, cg.Affinities) ||
		!reflect.DeepEqual(og.Spreads, cg.Spreads) ||
		!reflect.DeepEqual(old.Constraints, cur.Constraints) ||
		!reflect.DeepEqual(old.Affinities, cur.Affinities) ||
		!reflect.DeepEqual(old.Spreads, cur.Spreads) ||
		!reflect.DeepEqual(old.Meta, cur.Meta)
}

// reconcile decides what must change for the job to match its specification.
// It is a pure function of its input.
func reconcile(in reconcileInput) *reconcileResult {
	res := &reconcileResult{}
	dp := newDeploymentPlanner(in, res)
	if in.Job.Stopped() {
		for _, a := range in.Allocs {
			if a.TerminalStatus() {
				res.Ignore = append(res.Ignore, a)
			} else {
				res.Stop = append(res.Stop, stopDecision{a, allocJobStopped})
			}
		}
		return res
	}

	c := newClassifier(in.Job, in.Batch, in.TaintedNodes, in.Now, in.EvalID)
	byGroup := map[string][]classified{}
	for _, a := range in.Allocs {
		if dp.isPendingCanary(a) {
			res.Ignore = append(res.Ignore, a)
			continue
		}
		class, _ := c.classify(a)
		switch class {
		case classGone:
			res.Ignore = append(res.Ignore, a)
		case classOrphan:
			res.Stop = append(res.Stop, stopDecision{a, allocNotNeeded})
		default:
			byGroup[a.TaskGroup] = append(byGroup[a.TaskGroup], classified{a, class, a.Index()})
		}
	}
	for _, tg := range in.Job.TaskGroups {
		start, stopStart, inPlaceStart := len(res.Place), len(res.Stop), len(res.InPlace)
		reconcileGroup(c, tg, byGroup[tg.Name], res)
		dp.rollGroup(tg, res, start, len(res.InPlace) > inPlaceStart)
		dp.paceRetirements(tg, res, stopStart)
	}
	dp.finish(res)
	return res
}

// classified is an allocation with its class and its index in the group.
type classified struct {
	alloc *structs.Allocation
	class allocClass
	index int // -1 when the name carries none
}

// reconcileGroup decides for one group: keep the count lowest distinct
// indexes among the allocations that hold a name, stop the rest (so a count
// going down stops the highest indexes), replace the kept ones that are lost or
// changed, and place the missing indexes, lowest first.
func reconcileGroup(c *classifier, tg *structs.TaskGroup, allocs []classified, res *reconcileResult) {
	job := c.job
	slices.SortStableFunc(allocs, func(x, y classified) int {
		if x.index != y.index {
			switch {
			case x.index < 0:
				return 1
			case y.index < 0:
				return -1
			}
			return x.index - y.index
		}
		return keepPreference[x.class] - keepPreference[y.class]
	})

	used := make(map[int]bool, len(allocs))
	var places []placement
	for _, ca := range allocs {
		a := ca.alloc
		keep := len(used) < tg.Count && ca.index >= 0 && !used[ca.index]
		if !keep {
			switch ca.class {
			case classDone, classRescheduleNow, classRescheduleLater: // already terminal: nothing to stop
				res.Ignore = append(res.Ignore, a)
			case classLost:
				res.Stop = append(res.Stop, stopDecision{a, allocLost})
			default:
				res.Stop = append(res.Stop, stopDecision{a, allocNotNeeded})
			}
			continue
		}
		used[ca.index] = true
		switch ca.class {
		case classCurrent, classDone:
			res.Ignore = append(res.Ignore, a)
		case classInPlace:
			res.InPlace = append(res.InPlace, a)
		case classDestructive:
			places = append(places, placement{TaskGroup: tg, Name: a.Name, Index: ca.index, Previous: a, StopPrevious: allocUpdating})
		case classMigrate:
			places = append(places, placement{TaskGroup: tg, Name: a.Name, Index: ca.index, Previous: a, StopPrevious: allocMigrating})
		case classLost:
			res.Stop = append(res.Stop, stopDecision{a, allocLost})
			places = append(places, placement{TaskGroup: tg, Name: a.Name, Index: ca.index, Previous: a})
		case classRescheduleNow:
			places = append(places, c.reschedulePlacement(tg, ca))
		case classRescheduleLater:
			res.Ignore = append(res.Ignore, a)
			if later, ok := c.delayed(a); ok {
				res.RescheduleLater = append(res.RescheduleLater, later)
			}
		default:
			panic("scheduler: reconcileGroup got an allocation of class " + ca.class.String())
		}
	}
	for i := 0; len(used) < tg.Count; i++ {
		if !used[i] {
			used[i] = true
			places = append(places, placement{TaskGroup: tg, Name: structs.AllocName(job.ID, tg.Name, i), Index: i})
		}
	}
	slices.SortStableFunc(places, func(x, y placement) int { return x.Index - y.Index })
	res.Place = append(res.Place, places...)
}
