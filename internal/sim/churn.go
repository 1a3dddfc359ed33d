package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/orch-io/orch/structs"
)

// churn changes jobs at cfg.Churn a second for cfg.ChurnFor, once every
// allocation runs: it alternates an update of a job (a new task config,
// which replaces its allocations) and a stop of another (Job.Deregister),
// then registers the stopped jobs again, and measures until the cluster has
// settled (every allocation of every job running again, no evaluation
// pending). Jobs are taken in turn, so a job is changed again only after
// every other job was.
func (r *run) churn(ctx context.Context) error {
	cfg := r.cfg
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Churn))
	defer tick.Stop()
	end := time.Now().Add(cfg.ChurnFor)
	stopped := map[int]bool{}
	var updates, stops int
	r.logf("churn: %g job changes a second for %s", cfg.Churn, cfg.ChurnFor)
	for op := 0; time.Now().Before(end); op++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		i := op % cfg.Jobs
		if stopped[i] {
			continue // stopped earlier in this round: registered again at the end
		}
		if op%2 == 0 {
			if err := r.registerJob(ctx, simJobVersion(i, cfg.Count, op+1)); err != nil {
				return fmt.Errorf("churn: %w", err)
			}
			updates++
			continue
		}
		if err := r.callRetried(ctx, "Job.Deregister", &structs.JobDeregisterRequest{JobID: simJob(i, cfg.Count).ID}, &structs.JobDeregisterResponse{}); err != nil {
			return fmt.Errorf("churn: stopping job %d: %w", i, err)
		}
		stopped[i] = true
		stops++
	}
	last := time.Now()
	for i := range stopped {
		if err := r.registerJob(ctx, simJob(i, cfg.Count)); err != nil {
			return fmt.Errorf("churn: %w", err)
		}
	}
	r.logf("churn: %d updates, %d stops; %d stopped jobs registered again", updates, stops, len(stopped))
	settled, err := r.waitSettled(ctx)
	if err != nil {
		return err
	}
	r.figure("churn_changes", float64(updates+stops), "jobs", fmt.Sprintf("jobs updated (%d, each replacing its allocations) or stopped (%d) during churn", updates, stops))
	r.figure("churn_settle_seconds", settled.Sub(last).Seconds(), "s", "last churn change → every allocation running again, no evaluation pending")
	return nil
}

// simJobVersion is simJob i with a task config of generation gen: a new
// version whose allocations replace the running ones.
func simJobVersion(i, count, gen int) *structs.Job {
	j := simJob(i, count)
	j.TaskGroups[0].Tasks[0].Config["args"] = []any{fmt.Sprint(gen)}
	return j
}

// registerJob registers job with one request ID, retried (see callRetried).
func (r *run) registerJob(ctx context.Context, job *structs.Job) error {
	req := &structs.JobRegisterRequest{Job: job}
	if err := r.callRetried(ctx, "Job.Register", req, &structs.JobRegisterResponse{}); err != nil {
		return fmt.Errorf("registering job %s: %w", job.ID, err)
	}
	return nil
}

// waitSettled waits until every allocation runs and no evaluation is
// pending in two samples a second apart, and returns when it first did.
func (r *run) waitSettled(ctx context.Context) (time.Time, error) {
	var first time.Time
	for {
		var evals structs.EvalListResponse
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := r.admin.RPC(qctx, "Eval.List", &structs.EvalListRequest{}, &evals)
		cancel()
		pending := 0
		for _, e := range evals.Evaluations {
			if !e.Status.Terminal() {
				pending++
			}
		}
		switch {
		case err != nil || pending > 0 || r.f.running.Load() != int64(r.cfg.Allocs()):
			first = time.Time{}
		case first.IsZero():
			first = time.Now()
		default:
			return first, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waiting for the churn to settle: %w (running %d of %d, %d evaluations pending)",
				ctx.Err(), r.f.running.Load(), r.cfg.Allocs(), pending)
		case <-time.After(time.Second): // poll interval
		}
	}
}
