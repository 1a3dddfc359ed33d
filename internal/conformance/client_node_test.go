package conformance

import (
	"net/http"
	"testing"
	"time"

	napi "github.com/hashicorp/nomad/api"
)

// testClientGC collects a finished allocation through Nomad's client (GET),
// refuses to collect the running one (PUT), and collects the node's
// terminal allocations (GET through Nomad's client, PUT raw).
func testClientGC(t *testing.T, e *env) {
	job := napi.NewBatchJob("gcdone", "gcdone", "global", 50)
	job.Datacenters = []string{"dc1"}
	job.AddTaskGroup(napi.NewTaskGroup("g", 1).AddTask(napi.NewTask("t", "raw_exec").
		SetConfig("command", "/bin/true").Require(&napi.Resources{CPU: ptr(10), MemoryMB: ptr(16)})))
	if _, _, err := e.nomad.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	var done *napi.AllocationListStub
	deadline := time.Now().Add(30 * time.Second)
	for done == nil {
		allocs, _, err := e.nomad.Jobs().Allocations("gcdone", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range allocs {
			if a.ClientStatus == "complete" {
				done = a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gcdone's allocation did not complete: %+v", allocs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The client may still be sending the terminal status: retry briefly.
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err = e.nomad.Allocations().GC(&napi.Allocation{ID: done.ID}, nil); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("GC of a finished allocation: %v", err)
	}
	if code, body := rawStatus(t, e, http.MethodPut, "/v1/client/allocation/"+e.allocID+"/gc", ""); code != http.StatusBadRequest {
		t.Errorf("GC of the running allocation: %d %s, want 400", code, body)
	}
	nodeID := e.agent.NodeID
	if err := e.nomad.Nodes().GC(nodeID, nil); err != nil {
		t.Errorf("node GC: %v", err)
	}
	if code, body := rawStatus(t, e, http.MethodPut, "/v1/client/gc", ""); code != http.StatusOK {
		t.Errorf("PUT /v1/client/gc: %d %s", code, body)
	}
	if a, _, err := e.nomad.Allocations().Info(e.allocID, nil); err != nil || a.ClientStatus != "running" {
		t.Errorf("web's allocation after the node GC: %+v %v", a, err)
	}
}

// testNodeMeta applies and reads dynamic node metadata through Nomad's
// client.
func testNodeMeta(t *testing.T, e *env) {
	resp, err := e.nomad.Nodes().Meta().Apply(&napi.NodeMetaApplyRequest{Meta: map[string]*string{"rack": ptr("r9")}}, nil)
	if err != nil || resp.Meta["rack"] != "r9" || resp.Dynamic["rack"] == nil || *resp.Dynamic["rack"] != "r9" || resp.Static == nil {
		t.Fatalf("apply: %+v %v", resp, err)
	}
	nodeID := e.agent.NodeID
	read, err := e.nomad.Nodes().Meta().Read(nodeID, nil)
	if err != nil || read.Meta["rack"] != "r9" {
		t.Fatalf("read: %+v %v", read, err)
	}
	strictGet[napi.NodeMetaResponse](t, e.agent.URL, "/v1/client/metadata")
	node, _, err := e.nomad.Nodes().Info(nodeID, nil)
	if err != nil || node.Meta["rack"] != "r9" {
		t.Errorf("the node on the servers after apply: %v %v", node.Meta, err)
	}
	if _, err := e.nomad.Nodes().Meta().Apply(&napi.NodeMetaApplyRequest{NodeID: nodeID, Meta: map[string]*string{"rack": nil}}, nil); err != nil {
		t.Errorf("unset: %v", err)
	}
	if code, body := rawStatus(t, e, http.MethodPost, "/v1/client/metadata", `{"Meta": {"bad key": "x"}}`); code != http.StatusBadRequest {
		t.Errorf("a bad key: %d %s", code, body)
	}
}
