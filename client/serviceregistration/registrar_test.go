package serviceregistration

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// testAlloc is a running allocation of a job whose group "web" has a port
// "http" (host port 25000, to 8080), a group service and a task service.
func testAlloc() (*structs.Allocation, *structs.Node) {
	job := structstest.Job("shop")
	tg := job.TaskGroups[0]
	tg.Networks = []*structs.NetworkResource{{Mode: "host", DynamicPorts: []structs.Port{{Label: "http", To: 8080}}}}
	tg.Services = []*structs.Service{{Name: "${NOMAD_JOB_NAME}-api", PortLabel: "http", Tags: []string{"v1"}}}
	tg.Tasks[0].Services = []*structs.Service{{Name: "${BASE}", PortLabel: "9000", AddressMode: "host"}}
	node := structstest.Node(structs.GenerateUUID(), "n1")
	a := structstest.Alloc(structs.GenerateUUID(), "e1", job, node, "web", 0)
	a.AllocatedResources.Shared.Ports = structs.AllocatedPorts{{Label: "http", Value: 25000, To: 8080}}
	a.TaskStates = map[string]*structs.TaskState{"server": {State: structs.TaskStateRunning}}
	return a, node
}

func TestInstancesFollowTheAllocationAndItsTasks(t *testing.T) {
	a, node := testAlloc()
	got := Instances(a, node)
	if len(got) != 2 {
		t.Fatalf("running: %d instances, want 2: %+v", len(got), got)
	}
	g, tk := got[0], got[1]
	if g.ServiceName != "shop-api" || g.Address != "127.0.0.1" || g.Port != 25000 || g.ID != structs.ServiceRegistrationID(a.ID, "group-web", "shop-api", "http") ||
		g.NodeID != node.ID || g.Datacenter != "dc1" || g.JobID != "shop" || g.Namespace != "default" {
		t.Errorf("group instance %+v", g)
	}
	if tk.ServiceName != "shop-web-server" || tk.Port != 9000 {
		t.Errorf("task instance %+v", tk)
	}

	a.TaskStates["server"].State = structs.TaskStatePending // restarting
	if got := Instances(a, node); len(got) != 1 || got[0].ServiceName != "shop-api" {
		t.Errorf("task not running: %+v", got)
	}
	a.ClientStatus = structs.AllocClientStatusPending
	if got := Instances(a, node); len(got) != 0 {
		t.Errorf("pending: %+v", got)
	}
	a.ClientStatus = structs.AllocClientStatusRunning
	a.DesiredStatus = structs.AllocDesiredStatusStop
	if got := Instances(a, node); len(got) != 0 {
		t.Errorf("stopped by the servers: %+v", got)
	}
}

// A canary's instances carry canary_tags where its service sets them, its
// tags elsewhere; once no longer a canary (promoted), its tags.
func TestCanaryInstancesCarryCanaryTags(t *testing.T) {
	a, node := testAlloc()
	tg := a.Job.TaskGroups[0]
	tg.Services[0].CanaryTags = []string{"canary"}
	a.DeploymentID = "d1"
	a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	got := Instances(a, node)
	if len(got) != 2 || !slices.Equal(got[0].Tags, []string{"canary"}) || len(got[1].Tags) != 0 {
		t.Fatalf("canary: %+v %+v, want the group service with canary_tags, the task service (no canary_tags) with its tags", got[0], got[1])
	}
	a.DeploymentStatus.Canary = false
	if got := Instances(a, node); !slices.Equal(got[0].Tags, []string{"v1"}) {
		t.Fatalf("promoted: tags %v, want [v1]", got[0].Tags)
	}
}

func TestAddressModes(t *testing.T) {
	a, node := testAlloc()
	for _, tc := range []struct {
		label, mode string
		port        int
	}{{"http", "auto", 25000}, {"http", "host", 25000}, {"http", "alloc", 8080}, {"http", "driver", 8080}, {"", "auto", 0}, {"80", "auto", 80}} {
		if _, port := Address(a, node, tc.label, tc.mode); port != tc.port {
			t.Errorf("Address(%q, %q) port %d, want %d", tc.label, tc.mode, port, tc.port)
		}
	}
}

// recorder is the servers as a Registrar sees them: it records every
// request and fails while fail is set.
type recorder struct {
	mu   sync.Mutex
	reqs []*structs.ServiceRegistrationUpsertRequest
	fail bool
}

func (r *recorder) rpc(_ context.Context, method string, args, _ any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if method != "ServiceRegistration.Upsert" {
		return errors.New("unexpected method " + method)
	}
	if r.fail {
		return errors.New("servers unreachable")
	}
	r.reqs = append(r.reqs, args.(*structs.ServiceRegistrationUpsertRequest))
	return nil
}

func TestRegistrarSendsChangesOnceAndRetriesFailures(t *testing.T) {
	rec := &recorder{}
	reg := NewRegistrar(Config{RPC: rec.rpc})
	a, node := testAlloc()
	ctx := t.Context()

	reg.AllocUpdated(a, node)
	reg.AllocUpdated(a, node) // the same state again: nothing new
	if err := reg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 1 || len(rec.reqs[0].Services) != 2 || len(rec.reqs[0].DeleteIDs) != 0 {
		t.Fatalf("first flush sent %+v", rec.reqs)
	}
	reg.AllocUpdated(a, node)
	if err := reg.Flush(ctx); err != nil || len(rec.reqs) != 1 {
		t.Fatalf("an unchanged state sent something: %d requests, %v", len(rec.reqs), err)
	}

	// The task stops while the servers are unreachable: the removal is
	// kept and sent once they answer.
	a.TaskStates["server"].State = structs.TaskStateDead
	reg.AllocUpdated(a, node)
	rec.fail = true
	if err := reg.Flush(ctx); err == nil {
		t.Fatal("flush to failing servers succeeded")
	}
	rec.fail = false
	if err := reg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	last := rec.reqs[len(rec.reqs)-1]
	if len(last.Services) != 0 || len(last.DeleteIDs) != 1 || last.DeleteIDs[0] != structs.ServiceRegistrationID(a.ID, "server", "shop-web-server", "9000") {
		t.Fatalf("retry sent %+v", last)
	}

	reg.AllocRemoved(a.ID)
	if err := reg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	last = rec.reqs[len(rec.reqs)-1]
	if len(last.DeleteIDs) != 1 || len(reg.Registered()) != 0 {
		t.Fatalf("removal sent %+v; still registered %v", last, reg.Registered())
	}
}

// A registration that failed to send and was superseded by a removal is not
// sent again.
func TestRegistrarNewerChangeWinsOverAFailedOne(t *testing.T) {
	rec := &recorder{fail: true}
	reg := NewRegistrar(Config{RPC: rec.rpc})
	a, node := testAlloc()
	reg.AllocUpdated(a, node)
	done := make(chan error, 1)
	go func() { done <- reg.Flush(t.Context()) }()
	reg.AllocRemoved(a.ID)
	if err := <-done; err == nil {
		t.Fatal("flush to failing servers succeeded")
	}
	rec.fail = false
	if err := reg.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	last := rec.reqs[len(rec.reqs)-1]
	if len(last.Services) != 0 || len(last.DeleteIDs) != 2 {
		t.Fatalf("sent %+v, want only the removals", last)
	}
}
