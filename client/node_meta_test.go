package client

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestMergeMeta(t *testing.T) {
	v := "r9"
	got := mergeMeta(map[string]string{"rack": "r1", "zone": "a"}, map[string]*string{"rack": &v, "zone": nil})
	if len(got) != 1 || got["rack"] != "r9" {
		t.Errorf("merged = %v, want rack=r9 only", got)
	}
	if err := validateMetaApply(map[string]*string{"ok.key-1": &v, "bad key": &v, "": nil}); err == nil {
		t.Error("bad keys accepted")
	}
}

// TestDynamicMetaSurvivesARestart: applied metadata reaches the server at
// once and is registered again by the next agent on the same data dir.
func TestDynamicMetaSurvivesARestart(t *testing.T) {
	s, rpc := startRealServer(t)
	dataDir := t.TempDir()
	nodeMeta := func(id string) map[string]string {
		var node structs.SingleNodeResponse
		if err := s.RPC(t.Context(), "Node.GetNode", &structs.NodeSpecificRequest{NodeID: id}, &node); err != nil || node.Node == nil {
			t.Fatalf("the node on the server: %+v %v", node.Node, err)
		}
		return node.Node.Meta
	}
	c, err := NewClient(testClientConfig(t, rpc, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "registration", c.Registered)
	v := "r9"
	resp, err := c.ApplyNodeMeta(map[string]*string{"rack": &v, "zone": &v})
	if err != nil || resp.Meta["rack"] != "r9" || resp.Static["rack"] != "r1" {
		t.Fatalf("apply: %+v %v", resp, err)
	}
	if m := nodeMeta(c.NodeID()); m["rack"] != "r9" || m["zone"] != "r9" {
		t.Fatalf("server's node meta right after apply: %v", m)
	}
	if _, err := c.ApplyNodeMeta(map[string]*string{"zone": nil}); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}

	c, err = NewClient(testClientConfig(t, rpc, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	if m := c.Node().Meta; m["rack"] != "r9" || m["zone"] != "" {
		t.Errorf("node meta after restart: %v", m)
	}
	got, err := c.NodeMeta()
	if err != nil || got.Dynamic["zone"] != nil || got.Dynamic["rack"] == nil {
		t.Errorf("read after restart: %+v %v", got, err)
	}
}
