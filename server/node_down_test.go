package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// gatherNodeDowns marks nodes down from one goroutine each while a commit is
// (said to be) under way, so that all of them gather in one batch, then
// commits it as the running committer would, and waits for every caller.
func gatherNodeDowns(t *testing.T, s *Server, nodes []*structs.Node) {
	t.Helper()
	d := &s.nodeDowns
	d.mu.Lock()
	d.committing = true
	d.mu.Unlock()
	errs := make(chan error, len(nodes))
	for _, n := range nodes {
		go func() {
			_, err := s.markNodeDown(n.ID, "test")
			errs <- err
		}()
	}
	waitFor(t, 10*time.Second, "every node gathered in the next batch", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.next != nil && len(d.next.nodes) == len(nodes)
	})
	s.commitNodeDowns()
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatalf("markNodeDown: %v", err)
		}
	}
}

// placeOnNodes registers count nodes and jobs whose allocations (2 GiB each
// on 8 GiB nodes) need several of them, and waits until all are placed.
func placeOnNodes(t *testing.T, s *Server, count int, jobs map[string]int) []*structs.Node {
	t.Helper()
	var nodes []*structs.Node
	for range count {
		n := testNode()
		registerNode(t, s, n)
		nodes = append(nodes, n)
	}
	want := 0
	for id, c := range jobs {
		registerJob(t, s, testJob(id, c, 2048))
		want += c
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("%d allocations placed", want), func() bool {
		got := 0
		for _, n := range nodes {
			got += len(s.state.Snapshot().AllocsByNode(n.ID))
		}
		return got == want
	})
	return nodes
}

// nodeUpdateEvals counts the node-update evaluations of each job.
func nodeUpdateEvals(s *Server, jobs ...string) map[string]int {
	out := map[string]int{}
	for _, j := range jobs {
		for _, e := range s.state.Snapshot().EvalsByJob(structs.DefaultNamespace, j) {
			if e.TriggeredBy == structs.EvalTriggerNodeUpdate {
				out[j]++
			}
		}
	}
	return out
}

// Nodes that go down together are marked in one entry with one evaluation
// per job, not one per job per node.
func TestNodesGoingDownTogetherShareOneEntryAndOneEvalPerJob(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MinHeartbeatTTL, cfg.HeartbeatGrace = time.Hour, time.Hour
	s := startServer(t, cfg)
	nodes := placeOnNodes(t, s, 4, map[string]int{"a": 6, "b": 6})
	gatherNodeDowns(t, s, nodes)

	var index uint64
	for _, n := range nodes {
		got := s.state.Snapshot().NodeByID(n.ID)
		if got.Status != structs.NodeStatusDown {
			t.Fatalf("node %s is %s, want down", n.Name, got.Status)
		}
		if index != 0 && got.ModifyIndex != index {
			t.Errorf("node %s marked at index %d, another at %d: want one entry", n.Name, got.ModifyIndex, index)
		}
		index = got.ModifyIndex
	}
	if got := nodeUpdateEvals(s, "a", "b"); got["a"] != 1 || got["b"] != 1 {
		t.Errorf("node-update evaluations per job = %v, want one each", got)
	}
	// Marking them again changes nothing.
	if i, err := s.markNodeDown(nodes[0].ID, "again"); err != nil || i != 0 {
		t.Errorf("markNodeDown of a down node = %d, %v; want 0, nil", i, err)
	}
}

// While a server of the cluster does not read NodesDownEntry (a rolling
// upgrade), the nodes of a batch are marked one entry each, as before.
func TestNodesGoingDownTogetherBehindAnOldServer(t *testing.T) {
	newCfg, oldCfg := testConfig(t.TempDir()), testConfig(t.TempDir())
	for _, c := range []*Config{&newCfg, &oldCfg} {
		c.MinHeartbeatTTL, c.HeartbeatGrace = time.Hour, time.Hour
	}
	oldCfg.MaxEntryVersionForTest = MaxEntryVersion - 1
	servers := startClusterOf(t, newCfg, oldCfg)
	s := leaderOf(servers)
	nodes := placeOnNodes(t, s, 2, map[string]int{"a": 7})
	gatherNodeDowns(t, s, nodes)

	for _, srv := range servers {
		waitFor(t, 10*time.Second, "both nodes down on "+srv.config.NodeName, func() bool {
			return nodeStatus(srv, nodes[0].ID) == structs.NodeStatusDown && nodeStatus(srv, nodes[1].ID) == structs.NodeStatusDown
		})
	}
	a, b := s.state.Snapshot().NodeByID(nodes[0].ID), s.state.Snapshot().NodeByID(nodes[1].ID)
	if a.ModifyIndex == b.ModifyIndex {
		t.Errorf("both nodes marked at index %d behind an old server, want one entry each", a.ModifyIndex)
	}
	if got := nodeUpdateEvals(s, "a"); got["a"] != 2 {
		t.Errorf("node-update evaluations of job a = %d, want one per node (2)", got["a"])
	}
}
