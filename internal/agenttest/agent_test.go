package agenttest

import (
	"testing"
	"time"
)

func TestStartServesAndStops(t *testing.T) {
	start := time.Now()
	a := Start(t, Options{Client: true})
	t.Logf("client agent ready after %v", time.Since(start))
	if a.NodeID == "" {
		t.Fatal("no node ID after Start with a client")
	}
	leader, err := a.API.Status().Leader()
	if err != nil || leader == "" {
		t.Fatalf("leader: %q %v", leader, err)
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.API.Status().Leader(); err == nil {
		t.Error("the HTTP API still answers after Stop")
	}
}
