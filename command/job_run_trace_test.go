package command

import (
	"regexp"
	"testing"
	"time"

	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/internal/tracing/tracingtest"
)

// TestJobRunVerbosePrintsItsTrace: `job run -verbose` sends a traceparent
// of its own and prints its trace ID, the trace the agent then records.
func TestJobRunVerbosePrintsItsTrace(t *testing.T) {
	rcv := tracingtest.NewReceiver(t)
	a := agenttest.Start(t, agenttest.Options{Configure: func(c *agent.Config) {
		c.Telemetry.OTLPEndpoint = rcv.Endpoint()
	}})
	r := runCLI(t, "job", "run", "-json", "-detach", "-verbose", "-address", a.URL, writeJSONJob(t, structstest.Job("web"), true))
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	m := regexp.MustCompile(`==> Trace ID "([0-9a-f]{32})"`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no trace ID printed:\n%s", r.stdout)
	}
	err := agenttest.WaitFor(30*time.Second, func() (bool, string) {
		tree := tracingtest.NewTree(rcv.Trace(m[1]))
		if why := tree.CheckParent("rpc Job.Register", "http PUT /v1/jobs"); why != "" {
			return false, why
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
}
