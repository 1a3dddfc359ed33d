package server

import (
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// With ACLs on, a client registers the instances of its own node's
// allocations only; the registry is read with read-job (or by a client that
// runs allocations of the namespace, for its templates), and an instance is
// deleted with submit-job.
func TestACLServiceRegistry(t *testing.T) {
	s, mgmt := startACLServer(t)
	ctx := t.Context()
	w := func(tok string) structs.WriteRequest { return structs.WriteRequest{AuthToken: tok} }
	q := func(tok string) structs.QueryOptions { return structs.QueryOptions{AuthToken: tok} }
	nodes := map[string]*structs.Node{}
	for range 2 {
		n := testNode()
		nodes[n.ID] = n
		if err := s.RPC(ctx, "Node.Register", &structs.NodeRegisterRequest{Node: n, WriteRequest: w(n.SecretID)}, &structs.NodeUpdateResponse{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: testJob("web", 1, 64), WriteRequest: w(mgmt)}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatal(err)
	}
	var alloc *structs.Allocation
	waitFor(t, 10*time.Second, "web placed", func() bool {
		allocs := s.state.Snapshot().AllocsByJob("default", "web")
		if len(allocs) > 0 {
			alloc = allocs[0]
		}
		return alloc != nil
	})
	owner := nodes[alloc.NodeID]
	var other *structs.Node
	for id, n := range nodes {
		if id != owner.ID {
			other = n
		}
	}

	reg := &structs.ServiceRegistration{ID: "_nomad-task-" + alloc.ID + "-web", ServiceName: "web", Namespace: "default",
		NodeID: owner.ID, Datacenter: "dc1", JobID: "web", AllocID: alloc.ID, Address: "10.0.0.1", Port: 8080}
	upsert := func(secret string, r *structs.ServiceRegistrationUpsertRequest) error {
		r.WriteRequest = w(secret)
		return s.RPC(ctx, "ServiceRegistration.Upsert", r, &structs.GenericResponse{})
	}
	denied(t, "another node registers the allocation's instance", upsert(other.SecretID, &structs.ServiceRegistrationUpsertRequest{Services: []*structs.ServiceRegistration{reg}}))
	forged := *reg
	forged.NodeID = other.ID
	denied(t, "another node claims the allocation's instance as its own", upsert(other.SecretID, &structs.ServiceRegistrationUpsertRequest{Services: []*structs.ServiceRegistration{&forged}}))
	if err := upsert(owner.SecretID, &structs.ServiceRegistrationUpsertRequest{Services: []*structs.ServiceRegistration{reg}}); err != nil {
		t.Fatalf("the allocation's node registers its instance: %v", err)
	}
	denied(t, "another node removes the instance", upsert(other.SecretID, &structs.ServiceRegistrationUpsertRequest{DeleteIDs: []string{reg.ID}}))

	get := func(tok string) error {
		return s.RPC(ctx, "ServiceRegistration.GetService", &structs.ServiceRegistrationByNameRequest{ServiceName: "web", QueryOptions: q(tok)},
			&structs.ServiceRegistrationByNameResponse{})
	}
	if err := get(owner.SecretID); err != nil {
		t.Errorf("a client running allocations of the namespace reads the registry: %v", err)
	}
	denied(t, "a client running nothing of the namespace reads the registry", get(other.SecretID))
	ro := aclToken(t, s, mgmt, "readonly", `namespace "default" { policy = "read" }`)
	prod := aclToken(t, s, mgmt, "prod", `namespace "prod" { policy = "write" }`)
	if err := get(ro.SecretID); err != nil {
		t.Errorf("read-job reads the registry: %v", err)
	}
	denied(t, "another namespace's token reads the registry", get(prod.SecretID))

	list := func(tok string) []*structs.ServiceRegistrationNamespaceList {
		t.Helper()
		var reply structs.ServiceRegistrationListResponse
		opts := q(tok)
		opts.Namespace = "*"
		if err := s.RPC(ctx, "ServiceRegistration.List", &structs.ServiceRegistrationListRequest{QueryOptions: opts}, &reply); err != nil {
			t.Fatalf("list of every namespace: %v", err)
		}
		return reply.Services
	}
	if l := list(ro.SecretID); len(l) != 1 || l[0].Namespace != "default" {
		t.Errorf("read-only list: %+v, want default's services", l)
	}
	if l := list(prod.SecretID); len(l) != 0 {
		t.Errorf("prod's list shows default's services: %+v", l)
	}

	del := func(tok string) error {
		return s.RPC(ctx, "ServiceRegistration.DeleteByID", &structs.ServiceRegistrationDeleteRequest{ServiceName: "web", ID: reg.ID,
			WriteRequest: w(tok)}, &structs.GenericResponse{})
	}
	denied(t, "read-only deletes an instance", del(ro.SecretID))
	denied(t, "another namespace's writer deletes an instance", del(prod.SecretID))
	dev := aclToken(t, s, mgmt, "dev", `namespace "default" { policy = "write" }`)
	if err := del(dev.SecretID); err != nil {
		t.Errorf("submit-job deletes an instance: %v", err)
	}
}

// With ACLs on, a client reads the deployments of its own node's
// allocations (it follows its canaries' promotion), and no others.
func TestACLClientReadsItsAllocationsDeployment(t *testing.T) {
	s, mgmt := startACLServer(t)
	ctx := t.Context()
	var nodes []*structs.Node
	for range 2 {
		n := testNode()
		nodes = append(nodes, n)
		if err := s.RPC(ctx, "Node.Register", &structs.NodeRegisterRequest{Node: n, WriteRequest: structs.WriteRequest{AuthToken: n.SecretID}}, &structs.NodeUpdateResponse{}); err != nil {
			t.Fatal(err)
		}
	}
	job := testJob("web", 1, 64)
	job.TaskGroups[0].Update = &structs.UpdateStrategy{MaxParallel: 1, HealthCheck: structs.UpdateHealthCheckTaskStates,
		MinHealthyTime: time.Second, HealthyDeadline: time.Minute, ProgressDeadline: 10 * time.Minute}
	if err := s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: job, WriteRequest: structs.WriteRequest{AuthToken: mgmt}}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatal(err)
	}
	var alloc *structs.Allocation
	waitFor(t, 10*time.Second, "web placed with a deployment", func() bool {
		allocs := s.state.Snapshot().AllocsByJob(structs.DefaultNamespace, "web")
		if len(allocs) > 0 && allocs[0].DeploymentID != "" {
			alloc = allocs[0]
		}
		return alloc != nil
	})
	get := func(secret string) error {
		return s.RPC(ctx, "Deployment.GetDeployment", &structs.DeploymentSpecificRequest{DeploymentID: alloc.DeploymentID,
			QueryOptions: structs.QueryOptions{AuthToken: secret}}, &structs.SingleDeploymentResponse{})
	}
	for _, n := range nodes {
		if n.ID == alloc.NodeID {
			if err := get(n.SecretID); err != nil {
				t.Errorf("the allocation's node reads its deployment: %v", err)
			}
		} else {
			denied(t, "another node reads the deployment", get(n.SecretID))
		}
	}
}
