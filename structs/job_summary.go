package structs

// JobSummary counts a job's allocations per task group by client status, as
// Nomad's job summary: what `job status` shows and what Nomad's tooling reads
// from every job list entry. orch derives it on read (SummarizeJob) from the
// allocations and evaluations in the state store instead of keeping a table.
type JobSummary struct {
	JobID     string
	Namespace string
	Summary   map[string]TaskGroupSummary // by group name; every group of the job
	// Children counts the child jobs of a periodic or parameterized job by
	// status (CountChildren); zero for other jobs.
	Children JobChildrenSummary
	// CreateIndex is the job's; ModifyIndex the highest index of the job and
	// of what was counted.
	CreateIndex uint64
	ModifyIndex uint64
}

// TaskGroupSummary counts one group's allocations by client status. Queued
// are the allocations the scheduler could not place yet (from the job's most
// recent evaluation that counted them).
type TaskGroupSummary struct {
	Queued   int
	Complete int
	Failed   int
	Running  int
	Starting int // pending on their client
	Lost     int
	Unknown  int
}

// SummarizeJob derives the summary of job from its allocations and
// evaluations (any order). Groups of the job with nothing counted are
// present with zeros; allocations of groups the job no longer has are
// counted under their group too, as their client still runs or ran them.
func SummarizeJob(job *Job, allocs []*Allocation, evals []*Evaluation) *JobSummary {
	s := &JobSummary{JobID: job.ID, Namespace: job.Namespace, Summary: map[string]TaskGroupSummary{},
		CreateIndex: job.CreateIndex, ModifyIndex: job.ModifyIndex}
	for _, tg := range job.TaskGroups {
		if tg != nil {
			s.Summary[tg.Name] = TaskGroupSummary{}
		}
	}
	for _, a := range allocs {
		g := s.Summary[a.TaskGroup]
		switch a.ClientStatus {
		case AllocClientStatusPending:
			g.Starting++
		case AllocClientStatusRunning:
			g.Running++
		case AllocClientStatusComplete:
			g.Complete++
		case AllocClientStatusFailed:
			g.Failed++
		case AllocClientStatusLost:
			g.Lost++
		default:
			g.Unknown++
		}
		s.Summary[a.TaskGroup] = g
		s.ModifyIndex = max(s.ModifyIndex, a.ModifyIndex)
	}
	var latest *Evaluation
	for _, e := range evals {
		if e.QueuedAllocations != nil && (latest == nil || e.ModifyIndex > latest.ModifyIndex) {
			latest = e
		}
	}
	if latest != nil {
		for name, n := range latest.QueuedAllocations {
			g := s.Summary[name]
			g.Queued = n
			s.Summary[name] = g
		}
		s.ModifyIndex = max(s.ModifyIndex, latest.ModifyIndex)
	}
	return s
}

// JobChildrenSummary counts the children of a periodic or parameterized job
// by status, as Nomad's.
type JobChildrenSummary struct {
	Pending int64
	Running int64
	Dead    int64
}

// CountChildren counts children by their status.
func CountChildren(children []*Job) JobChildrenSummary {
	var c JobChildrenSummary
	for _, j := range children {
		switch j.Status {
		case JobStatusDead:
			c.Dead++
		case JobStatusRunning:
			c.Running++
		default:
			c.Pending++
		}
	}
	return c
}
