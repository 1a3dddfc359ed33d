package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// The periodic launcher runs on the leader only (establishLeadership). It
// holds no state of its own: each round reads the periodic jobs and their
// launch records (structs.PeriodicLaunch) from the state store, launches
// what is due through Raft (one JobLaunchEntry per launch time, which
// records the time), and sleeps until the next launch time or a change to
// what it read. A new leader's launcher thus starts where the old one's
// last committed launch left off, and the FSM refuses a launch time at or
// before the recorded one, so no launch time is launched twice.
//
// Catch-up (Nomad-like): launch times that passed while no leader ran are
// not all launched. The launcher launches the latest of them once, as
// Nomad's leader force-runs a periodic job whose launch it missed, and goes
// on from there; its child is named after that launch time.

// periodicApplyTimeout bounds one launch's Raft write.
const periodicApplyTimeout = 30 * time.Second

// maxCatchUpSteps bounds the walk over missed launch times (a job that
// launched every minute and missed two months stops there, at a past time,
// and catches up the rest in the next rounds).
const maxCatchUpSteps = 100_000

// periodicDecision is what the launcher does with one periodic job at now.
type periodicDecision struct {
	// Launch is the launch time due (the latest one at or before now that
	// follows the last launch), zero when none is due.
	Launch time.Time
	// Next is the first launch time after now; zero when the specs have none.
	Next time.Time
}

// decidePeriodic decides for job, whose last committed launch is last (nil:
// never launched; the job's submit time is the base). Pure.
func decidePeriodic(job *structs.Job, last *structs.PeriodicLaunch, now time.Time) periodicDecision {
	p := job.Periodic
	if p == nil || !p.Enabled || job.Stop {
		return periodicDecision{}
	}
	base := time.Unix(0, job.SubmitTime)
	if last != nil {
		base = time.Unix(0, last.Launch)
	}
	t := p.Next(base)
	if t.IsZero() || t.After(now) {
		return periodicDecision{Next: t}
	}
	for range maxCatchUpSteps {
		n := p.Next(t)
		if n.IsZero() || n.After(now) {
			return periodicDecision{Launch: t, Next: n}
		}
		t = n
	}
	return periodicDecision{Launch: t, Next: now}
}

// runPeriodicLauncher is the leader's launch loop; it returns when ctx ends.
func (s *Server) runPeriodicLauncher(ctx context.Context) {
	for ctx.Err() == nil {
		snap, watch := s.state.WatchSnapshot()
		now := s.config.Clock.Now()
		var wake time.Time
		for _, job := range snap.Jobs(structs.AllNamespaces, "") {
			if !job.IsPeriodic() {
				continue
			}
			d := decidePeriodic(job, snap.PeriodicLaunch(job.Namespace, job.ID), now)
			if !d.Launch.IsZero() {
				if _, err := s.launchPeriodic(ctx, snap, job, d.Launch, false); err != nil {
					s.logger.Error("periodic launch failed; retrying", "job_id", job.ID, "namespace", job.Namespace,
						"launch", d.Launch, "error", err)
					d.Next = now.Add(time.Second)
				}
			}
			if !d.Next.IsZero() && (wake.IsZero() || d.Next.Before(wake)) {
				wake = d.Next
			}
		}
		waitCtx, cancel := context.WithCancel(ctx)
		var timer interface{ Stop() bool }
		if !wake.IsZero() {
			timer = s.config.Clock.AfterFunc(wake.Sub(s.config.Clock.Now()), cancel)
			// The clock may have passed wake before the timer was set.
			if !s.config.Clock.Now().Before(wake) {
				cancel()
			}
		}
		_ = watch.Wait(waitCtx) // returns on a change, the timer or the end
		if timer != nil {
			timer.Stop()
		}
		cancel()
	}
}

// launchPeriodic commits the launch of job at t: its child (or, under
// prohibit_overlap with a child not dead, a skipped launch), unless force,
// which always launches. It returns the child's eval and the entry's index;
// an empty eval ID when the entry applied nothing or skipped.
func (s *Server) launchPeriodic(ctx context.Context, snap *state.Snapshot, job *structs.Job, t time.Time, force bool) (*state.RequestOutcome, error) {
	entry := &JobLaunchEntry{Force: force,
		Launch: &structs.PeriodicLaunch{Namespace: job.Namespace, ID: job.ID, Launch: t.UnixNano()}}
	skip := false
	if job.Periodic.ProhibitOverlap && !force {
		for _, c := range snap.ChildJobs(job.Namespace, job.ID) {
			if c.Status != structs.JobStatusDead {
				skip = true
				s.logger.Info("periodic launch skipped: prohibit_overlap and a previous child is not dead",
					"job_id", job.ID, "namespace", job.Namespace, "launch", t, "child", c.ID)
				break
			}
		}
	}
	now := s.config.Clock.Now().UnixNano()
	if !skip {
		child := job.NewChildJob(structs.PeriodicChildID(job.ID, t))
		child.SubmitTime = now
		entry.Child, entry.Eval = child, newJobEval(child, structs.EvalTriggerPeriodicJob, now)
	}
	ctx, cancel := context.WithTimeout(ctx, periodicApplyTimeout)
	defer cancel()
	out, err := s.raftApplyWrite(ctx, MsgJobLaunch, entry, "")
	if err != nil {
		return nil, err
	}
	if entry.Child != nil {
		s.logger.Info("periodic job launched", "job_id", job.ID, "namespace", job.Namespace, "child", entry.Child.ID,
			"launch", t, "index", out.Index, "force", force)
	}
	return out, nil
}

// PeriodicForce launches a periodic job now, whatever its schedule and
// prohibit_overlap say (Nomad's `job periodic force`).
func (j *jobEndpoint) PeriodicForce(ctx context.Context, args *structs.JobPeriodicForceRequest, reply *structs.JobPeriodicForceResponse) error {
	if done, err := j.srv.forward(ctx, "Job.PeriodicForce", args, reply); done {
		return err
	}
	snap := j.srv.state.Snapshot()
	ns := structs.NamespaceOr(args.Namespace)
	job := snap.JobByID(ns, args.JobID)
	switch {
	case job == nil:
		return jobNotFound(ns, args.JobID)
	case !job.IsPeriodic():
		return structs.NewError(structs.CodeInvalid, "job %q is not periodic: only a job with a periodic block can be forced", args.JobID)
	case job.Stop:
		return structs.NewError(structs.CodeInvalid, "job %q is stopped: a stopped periodic job cannot be forced", args.JobID)
	}
	out, err := j.srv.launchPeriodic(ctx, snap, job, j.srv.config.Clock.Now(), true)
	if err != nil {
		return err
	}
	if out.EvalID == "" {
		return structs.NewError(structs.CodeConflict, "job %q: a child for this second exists already; force again in a second", args.JobID)
	}
	reply.EvalID, reply.EvalCreateIndex, reply.Index = out.EvalID, out.Index, out.Index
	return nil
}

// Dispatch registers a child of a parameterized job carrying the request's
// payload and meta (Nomad's `job dispatch`).
func (j *jobEndpoint) Dispatch(ctx context.Context, args *structs.JobDispatchRequest, reply *structs.JobDispatchResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Dispatch", args, reply); done {
		return err
	}
	snap := j.srv.state.Snapshot()
	ns := structs.NamespaceOr(args.Namespace)
	parent := snap.JobByID(ns, args.JobID)
	if parent == nil {
		return jobNotFound(ns, args.JobID)
	}
	if parent.Stop {
		return structs.NewError(structs.CodeInvalid, "job %q is stopped: a stopped job cannot be dispatched", args.JobID)
	}
	if err := parent.CheckDispatch(args.Payload, args.Meta); err != nil {
		return err
	}
	if existing := childWithToken(snap, parent, args.IdempotencyToken); existing != nil {
		return dispatchReply(snap, existing, reply)
	}
	now := j.srv.config.Clock.Now()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	child := parent.NewChildJob(parent.ID + structs.DispatchLaunchSuffix + strconv.FormatInt(now.Unix(), 10) + "-" + hex.EncodeToString(suffix))
	child.Dispatched, child.Payload, child.DispatchIdempotencyToken = true, args.Payload, args.IdempotencyToken
	if len(args.Meta) > 0 {
		child.Meta = maps.Clone(parent.Meta)
		if child.Meta == nil {
			child.Meta = map[string]string{}
		}
		maps.Copy(child.Meta, args.Meta)
	}
	child.SubmitTime = now.UnixNano()
	eval := newJobEval(child, structs.EvalTriggerJobRegister, now.UnixNano())
	out, err := j.srv.raftApplyWrite(ctx, MsgJobLaunch, &JobLaunchEntry{Child: child, Eval: eval}, args.RequestID)
	if err != nil {
		return err
	}
	snap = j.srv.state.Snapshot()
	if out.EvalID == "" {
		// Another dispatch with the token committed first: answer with its child.
		if existing := childWithToken(snap, parent, args.IdempotencyToken); existing != nil {
			return dispatchReply(snap, existing, reply)
		}
		return fmt.Errorf("server: dispatch of job %q at index %d applied nothing", args.JobID, out.Index)
	}
	reply.DispatchedJobID, reply.EvalID, reply.EvalCreateIndex, reply.JobCreateIndex, reply.Index =
		child.ID, out.EvalID, out.Index, out.Index, out.Index
	j.srv.logger.Info("job dispatched", "job_id", parent.ID, "namespace", ns, "child", child.ID, "index", out.Index)
	return nil
}

// childWithToken returns the child of parent dispatched with token, or nil.
func childWithToken(snap *state.Snapshot, parent *structs.Job, token string) *structs.Job {
	if token == "" {
		return nil
	}
	for _, c := range snap.ChildJobs(parent.Namespace, parent.ID) {
		if c.DispatchIdempotencyToken == token {
			return c
		}
	}
	return nil
}

// dispatchReply answers a dispatch with an existing child and its first evaluation.
func dispatchReply(snap *state.Snapshot, child *structs.Job, reply *structs.JobDispatchResponse) error {
	reply.DispatchedJobID, reply.JobCreateIndex, reply.Index = child.ID, child.CreateIndex, child.CreateIndex
	for _, e := range snap.EvalsByJob(child.Namespace, child.ID) {
		if reply.EvalID == "" || e.CreateIndex < reply.EvalCreateIndex {
			reply.EvalID, reply.EvalCreateIndex = e.ID, e.CreateIndex
		}
	}
	return nil
}
