package client

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// fakeDeployments answers Deployment.GetDeployment from a deployment a test
// changes, blocking while the query's index is current, as the servers do.
type fakeDeployments struct {
	mu      sync.Mutex
	d       *structs.Deployment
	index   uint64
	changed chan struct{}
	calls   int
}

func (f *fakeDeployments) set(d *structs.Deployment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.d, f.index = d, f.index+1
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeDeployments) rpc(ctx context.Context, method string, args, reply any) error {
	req, out := args.(*structs.DeploymentSpecificRequest), reply.(*structs.SingleDeploymentResponse)
	for {
		f.mu.Lock()
		f.calls++
		d, index, ch := f.d.Copy(), f.index, f.changed
		f.mu.Unlock()
		if index > req.MinQueryIndex {
			out.Deployment, out.Index = d, index
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// A canary is viewed as one until the client learns its group was promoted;
// then its deployment's allocations are re-registered, once, and the watch
// ends.
func TestCanaryWatchLearnsThePromotion(t *testing.T) {
	dep := &structs.Deployment{ID: "d1", Status: structs.DeploymentStatusRunning,
		TaskGroups: map[string]*structs.DeploymentState{"web": {DesiredCanaries: 1}}}
	f := &fakeDeployments{changed: make(chan struct{})}
	f.set(dep)
	refreshed := make(chan string, 4)
	var wg sync.WaitGroup
	w := newCanaryWatch(f.rpc, "global", slog.New(slog.DiscardHandler), &wg, func(id string) { refreshed <- id })
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(func() { cancel(); wg.Wait() })

	alloc := &structs.Allocation{ID: "a1", DeploymentID: "d1", TaskGroup: "web", ClientStatus: structs.AllocClientStatusRunning,
		DesiredStatus: structs.AllocDesiredStatusRun, DeploymentStatus: &structs.AllocDeploymentStatus{Canary: true}}
	w.track(ctx, alloc)
	w.track(ctx, alloc) // one watch per deployment
	if !w.view(alloc).DeploymentStatus.IsCanary() {
		t.Fatal("a canary not yet promoted viewed as promoted")
	}
	promoted := dep.Copy()
	promoted.TaskGroups["web"].Promoted = true
	f.set(promoted)
	select {
	case id := <-refreshed:
		if id != "d1" {
			t.Fatalf("refreshed %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the promotion was not learnt")
	}
	wg.Wait() // the watch ends: nothing left to promote
	if v := w.view(alloc); v.DeploymentStatus.IsCanary() || !alloc.DeploymentStatus.IsCanary() {
		t.Fatalf("after the promotion: view canary=%v, the allocation itself canary=%v; want false, true (a copy)",
			v.DeploymentStatus.IsCanary(), alloc.DeploymentStatus.IsCanary())
	}
	f.mu.Lock()
	calls := f.calls
	f.mu.Unlock()
	if calls > 4 {
		t.Errorf("%d queries for one change: the watch does not block", calls)
	}
	w.track(ctx, alloc) // promoted: no new watch
	w.forget("d1")
	if len(refreshed) != 0 {
		t.Errorf("refreshed again")
	}
}
