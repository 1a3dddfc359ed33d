package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func getSchedulerConfig(t *testing.T, s *Server) *structs.SchedulerConfigurationResponse {
	t.Helper()
	var resp structs.SchedulerConfigurationResponse
	if err := s.RPC(t.Context(), "Operator.SchedulerGetConfiguration", &structs.GenericRequest{}, &resp); err != nil {
		t.Fatalf("Operator.SchedulerGetConfiguration: %v", err)
	}
	return &resp
}

func setSchedulerConfig(t *testing.T, s *Server, req *structs.SchedulerSetConfigRequest) *structs.SchedulerSetConfigurationResponse {
	t.Helper()
	var resp structs.SchedulerSetConfigurationResponse
	if err := s.RPC(t.Context(), "Operator.SchedulerSetConfiguration", req, &resp); err != nil {
		t.Fatalf("Operator.SchedulerSetConfiguration: %v", err)
	}
	return &resp
}

func TestOperator_SchedulerConfigurationGetSetCAS(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, testConfig(dir))

	got := getSchedulerConfig(t, s).SchedulerConfig
	if got.SchedulerAlgorithm != structs.SchedulerAlgorithmBinpack || !got.PreemptionConfig.SystemSchedulerEnabled || got.ModifyIndex != 0 {
		t.Fatalf("default configuration %+v: want binpack, system preemption, never written", got)
	}

	set := setSchedulerConfig(t, s, &structs.SchedulerSetConfigRequest{Config: structs.SchedulerConfiguration{
		SchedulerAlgorithm: structs.SchedulerAlgorithmSpread, SampleSize: 20,
	}})
	if !set.Updated || set.Index == 0 {
		t.Fatalf("set: %+v, want updated at an index", set)
	}
	got = getSchedulerConfig(t, s).SchedulerConfig
	if got.SchedulerAlgorithm != structs.SchedulerAlgorithmSpread || got.SampleSize != 20 || got.ModifyIndex != set.Index {
		t.Fatalf("after set: %+v, want spread, sample 20, modify index %d", got, set.Index)
	}

	// A CAS write with a stale index changes nothing; with the current one it does.
	stale := setSchedulerConfig(t, s, &structs.SchedulerSetConfigRequest{CAS: true, Config: structs.SchedulerConfiguration{
		SchedulerAlgorithm: structs.SchedulerAlgorithmBinpack, ModifyIndex: set.Index - 1,
	}})
	if stale.Updated {
		t.Fatalf("CAS with a stale index updated the configuration")
	}
	if a := getSchedulerConfig(t, s).SchedulerConfig.SchedulerAlgorithm; a != structs.SchedulerAlgorithmSpread {
		t.Fatalf("algorithm %q after a failed CAS, want spread", a)
	}
	fresh := setSchedulerConfig(t, s, &structs.SchedulerSetConfigRequest{CAS: true, Config: structs.SchedulerConfiguration{
		SchedulerAlgorithm: structs.SchedulerAlgorithmBinpack, ModifyIndex: set.Index,
	}})
	if !fresh.Updated {
		t.Fatalf("CAS with the current index did not update")
	}

	// Invalid configurations are refused, naming the field.
	var resp structs.SchedulerSetConfigurationResponse
	err := s.RPC(t.Context(), "Operator.SchedulerSetConfiguration", &structs.SchedulerSetConfigRequest{
		Config: structs.SchedulerConfiguration{SchedulerAlgorithm: "random"}}, &resp)
	if err == nil || !strings.Contains(err.Error(), `SchedulerAlgorithm = "random"`) {
		t.Fatalf("invalid algorithm: err = %v", err)
	}

	// The configuration survives a restart from a Raft snapshot.
	if err := s.raft.Snapshot().Error(); err != nil {
		t.Fatalf("raft snapshot: %v", err)
	}
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, testConfig(dir))
	waitFor(t, 5*time.Second, "restored configuration", func() bool {
		return s2.state.SchedulerConfig().ModifyIndex == fresh.Index
	})
}

// The algorithm set through the operator endpoint reaches the schedulers:
// three one-allocation jobs on two nodes land on one node with binpack and on
// both with spread.
func TestEndToEnd_SchedulerAlgorithmFromRaft(t *testing.T) {
	for _, tc := range []struct {
		algorithm structs.SchedulerAlgorithm
		nodes     int
	}{
		{structs.SchedulerAlgorithmBinpack, 1},
		{structs.SchedulerAlgorithmSpread, 2},
	} {
		t.Run(string(tc.algorithm), func(t *testing.T) {
			s := startServer(t, testConfig(t.TempDir()))
			setSchedulerConfig(t, s, &structs.SchedulerSetConfigRequest{Config: structs.SchedulerConfiguration{SchedulerAlgorithm: tc.algorithm}})
			registerNode(t, s, testNode())
			registerNode(t, s, testNode())
			nodes := map[string]bool{}
			for i := range 3 {
				id := fmt.Sprintf("job%d", i)
				reg := registerJob(t, s, testJob(id, 1, 1024))
				waitFor(t, 10*time.Second, "eval of "+id+" complete", func() bool {
					e := getEval(t, s, reg.EvalID)
					return e != nil && e.Status == structs.EvalStatusComplete
				})
				r := running(jobAllocs(t, s, id))
				if len(r) != 1 {
					t.Fatalf("job %s has %d allocations, want 1", id, len(r))
				}
				nodes[r[0].NodeID] = true
			}
			if len(nodes) != tc.nodes {
				t.Fatalf("allocations on %d nodes, want %d", len(nodes), tc.nodes)
			}
		})
	}
}
