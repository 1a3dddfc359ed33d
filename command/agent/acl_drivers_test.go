package agent

import (
	"testing"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/docker"
	execdriver "github.com/orch-io/orch/client/driver/exec"
	"github.com/orch-io/orch/client/driver/mock"
	"github.com/orch-io/orch/client/driver/rawexec"
	"github.com/orch-io/orch/server"
)

// TestExecACLKnowsWhichDriversIsolate: the servers' exec check, which asks
// alloc-node-exec for a task without file system isolation, agrees with the
// capabilities of every driver an agent can run (pluginNames).
func TestExecACLKnowsWhichDriversIsolate(t *testing.T) {
	dk, err := docker.New(docker.PluginConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dk.Close() })
	drivers := []driver.Driver{rawexec.New(nil, nil), execdriver.New(execdriver.PluginConfig{}, nil, nil), mock.New(nil), dk}
	seen := map[string]bool{}
	for _, d := range drivers {
		seen[d.Name()] = true
		if got, want := server.DriverIsolatesFS(d.Name()), d.Capabilities().Isolated; got != want {
			t.Errorf("driver %q: server.DriverIsolatesFS = %v, its Capabilities().Isolated = %v (update server/acl_rpc.go fsIsolatedDrivers)", d.Name(), got, want)
		}
	}
	for _, name := range pluginNames {
		if !seen[name] {
			t.Errorf("driver %q of pluginNames is not checked here: add it", name)
		}
	}
}
