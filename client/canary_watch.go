package client

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/orch-io/orch/structs"
)

// canaryQueryWait bounds one blocking query of a canary watch.
const canaryQueryWait = 5 * time.Minute

// canaryWatch learns when the deployments of this node's canary allocations
// promote them, so that their service instances trade canary_tags for tags
// (Nomad's behaviour). An allocation stays marked a canary in its
// DeploymentStatus after the promotion (the servers derive a deployment's
// placed canaries from it), so the client follows each such deployment with
// a blocking query until its canary groups are promoted or it ends: one
// query per deployment with canaries on the node, not per allocation.
//
// track and view are called from the alloc runners' sync loops, forget from
// the goroutine that destroys an allocation; each watch runs on a goroutine
// of its own until promoted, ended, or ctx ends.
type canaryWatch struct {
	rpc    rpcFunc
	region string
	logger *slog.Logger
	// refresh re-registers the services of the deployment's allocations
	// after a promotion (they read view).
	refresh func(deploymentID string)
	wg      *sync.WaitGroup

	mu struct {
		sync.Mutex
		deployments map[string]*canaryDeployment
	}
}

// canaryDeployment is what the node knows of one deployment with canaries.
type canaryDeployment struct {
	watching bool
	// ended: the deployment is no longer active (or gone); nothing more will
	// be promoted.
	ended    bool
	promoted map[string]bool // task group → promoted
}

func newCanaryWatch(rpc rpcFunc, region string, logger *slog.Logger, wg *sync.WaitGroup, refresh func(string)) *canaryWatch {
	w := &canaryWatch{rpc: rpc, region: region, logger: logger, wg: wg, refresh: refresh}
	w.mu.deployments = map[string]*canaryDeployment{}
	return w
}

// view returns alloc as its services are registered: a canary whose group
// the deployment promoted is no longer one (a copy; alloc is not changed).
func (w *canaryWatch) view(alloc *structs.Allocation) *structs.Allocation {
	if !alloc.DeploymentStatus.IsCanary() {
		return alloc
	}
	w.mu.Lock()
	d := w.mu.deployments[alloc.DeploymentID]
	promoted := d != nil && d.promoted[alloc.TaskGroup]
	w.mu.Unlock()
	if !promoted {
		return alloc
	}
	out := *alloc
	out.DeploymentStatus = alloc.DeploymentStatus.Copy()
	out.DeploymentStatus.Canary = false
	return &out
}

// track starts following the deployment of a running canary allocation
// whose group is not known promoted, unless it is followed already.
func (w *canaryWatch) track(ctx context.Context, alloc *structs.Allocation) {
	if !alloc.DeploymentStatus.IsCanary() || alloc.DeploymentID == "" || alloc.TerminalStatus() || ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	d := w.mu.deployments[alloc.DeploymentID]
	if d == nil {
		d = &canaryDeployment{promoted: map[string]bool{}}
		w.mu.deployments[alloc.DeploymentID] = d
	}
	start := !d.watching && !d.ended && !d.promoted[alloc.TaskGroup]
	if start {
		d.watching = true
	}
	ns := alloc.Namespace
	w.mu.Unlock()
	if start {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.run(ctx, alloc.DeploymentID, ns)
		}()
	}
}

// forget drops what is known of a deployment none of the node's
// allocations belongs to any more.
func (w *canaryWatch) forget(deploymentID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d := w.mu.deployments[deploymentID]; d != nil && !d.watching {
		delete(w.mu.deployments, deploymentID)
	}
}

// run follows one deployment until every group with canaries is promoted,
// it ends, or ctx ends. Errors are retried with a growing wait.
func (w *canaryWatch) run(ctx context.Context, id, namespace string) {
	defer func() {
		w.mu.Lock()
		if d := w.mu.deployments[id]; d != nil {
			d.watching = false
		}
		w.mu.Unlock()
	}()
	var index uint64
	failures := 0
	for ctx.Err() == nil {
		req := &structs.DeploymentSpecificRequest{DeploymentID: id, QueryOptions: structs.QueryOptions{
			Region: w.region, Namespace: namespace, MinQueryIndex: index, MaxQueryTime: canaryQueryWait, AllowStale: true}}
		var reply structs.SingleDeploymentResponse
		qctx, cancel := context.WithTimeout(ctx, canaryQueryWait+30*time.Second)
		err := w.rpc(qctx, "Deployment.GetDeployment", req, &reply)
		cancel()
		if err != nil {
			failures++
			wait := min(time.Duration(failures)*time.Second, 30*time.Second)
			w.logger.Debug("following a canary deployment", "deployment_id", id, "retry_in", wait, "error", err)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			continue
		}
		failures = 0
		if reply.Index > 0 {
			index = reply.Index // the same index again: the query's wait passed
		}
		d := reply.Deployment
		newly, pending := false, false
		w.mu.Lock()
		cd := w.mu.deployments[id]
		if d != nil && cd != nil {
			for name, s := range d.TaskGroups {
				switch {
				case s.DesiredCanaries == 0:
				case s.Promoted && !cd.promoted[name]:
					cd.promoted[name], newly = true, true
				case !s.Promoted:
					pending = true
				}
			}
		}
		ended := cd == nil || d == nil || !d.Active() || !pending
		if cd != nil && ended {
			cd.ended = true
		}
		w.mu.Unlock()
		if newly {
			w.logger.Info("canaries promoted: registering their services with their tags", "deployment_id", id)
			w.refresh(id)
		}
		if ended {
			return
		}
	}
}
