package command

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// The commands run in process (run with captured output) against the HTTP
// API of a real in-process dev agent (internal/agenttest). Exact layouts of
// states the real cluster does not reach on demand (a down node, a failed
// evaluation) are tested on the pure format functions with fixtures
// (internal/structstest).

// testAgent is a real agent and the address the commands are given.
type testAgent struct {
	*agenttest.Agent
	addr string
}

// startAgent starts a server-only agent: jobs and evaluations, no node.
func startAgent(t *testing.T) *testAgent {
	t.Helper()
	a := agenttest.Start(t, agenttest.Options{})
	return &testAgent{Agent: a, addr: a.URL}
}

// startClientAgent starts a server and a client whose node is "node-1":
// jobs are placed, and their raw_exec tasks run until the test ends.
func startClientAgent(t *testing.T) *testAgent {
	t.Helper()
	a := agenttest.Start(t, agenttest.Options{Client: true, NodeName: "node-1"})
	return &testAgent{Agent: a, addr: a.URL}
}

// job returns the stored job id, or nil when there is none.
func (a *testAgent) job(t *testing.T, id string) *structs.Job {
	t.Helper()
	job, _, err := a.API.Jobs().Info(id, nil)
	if api.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("reading job %q: %v", id, err)
	}
	return job
}

// register registers job and returns the registration's evaluation ID.
func (a *testAgent) register(t *testing.T, job *structs.Job) string {
	t.Helper()
	resp, err := a.API.Jobs().Register(job)
	if err != nil {
		t.Fatalf("registering %q: %v", job.ID, err)
	}
	return resp.EvalID
}

// waitFor polls cond until it holds or the deadline passes; it fails the
// test with what it waited for when the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) bool {
	t.Helper()
	if err := agenttest.WaitFor(30*time.Second, func() (bool, string) { return cond(), "waiting for " + what }); err != nil {
		t.Error(err)
		return false
	}
	return true
}

// result is what one CLI run produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs `orch args...`.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"orch"}, args...), &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// mustContain fails the test unless s contains every one of wants.
func mustContain(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Setenv("ORCH_ADDR", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"job", "run"}, "this command takes one argument: the path of the job file (got 0 arguments)"},
		{[]string{"job", "run", "a.hcl", "b.hcl"}, "this command takes one argument: the path of the job file (got 2 arguments)"},
		{[]string{"job", "status", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"job", "status", "a", "b"}, "this command takes at most one argument"},
		{[]string{"job", "status", "web", "-verbose"}, "flag -verbose must come before the arguments"},
		{[]string{"job", "frob"}, `unknown command "frob"`},
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"jbo", "status"}, `unknown command "jbo": did you mean "job"?`},
		{[]string{"job", "stauts"}, `unknown command "stauts": did you mean "status"?`},
		{[]string{"operator", "raft", "list-peer"}, `unknown command "list-peer": did you mean "list-peers"?`},
		{[]string{"nod", "status"}, `unknown command "nod": did you mean "node"?`},
		{[]string{"alloc", "status"}, "this command takes one argument: an allocation ID or prefix"},
		{[]string{"node", "status", "a", "b"}, "this command takes at most one argument: a node ID or prefix (got 2 arguments)"},
		{[]string{"server", "members", "x"}, "this command takes no arguments"},
		{[]string{"version", "x"}, "this command takes no arguments"},
		{[]string{"job", "run", "-json", "-var", "a=b", "job.json"}, "-var and -var-file apply to HCL job files, not to -json"},
		{[]string{"job", "validate", "-var", "novalue", "job.hcl"}, `-var "novalue": must be key=value`},
		{[]string{"job", "status", "-address", "ftp://x"}, `-address: invalid agent address "ftp://x"`},
	}
	for _, tt := range tests {
		r := runCLI(t, tt.args...)
		if r.code != exitUsage {
			t.Errorf("orch %s: exit %d, want 2\n%s", strings.Join(tt.args, " "), r.code, r.stderr)
		}
		mustContain(t, "stderr of orch "+strings.Join(tt.args, " "), r.stderr, "Error: "+tt.want, "\nUsage: orch")
		if r.stdout != "" {
			t.Errorf("orch %s: usage error wrote to stdout: %q", strings.Join(tt.args, " "), r.stdout)
		}
	}
	r := runCLI(t, "job", "run")
	if !strings.Contains(r.stderr, "Usage: orch job run [options] <path>\nRun \"orch job run -h\" for help.") {
		t.Errorf("usage line of job run:\n%s", r.stderr)
	}
}

// Every command has a usage line, and every command that does something an
// example; -h prints them on stdout and exits 0.
func TestHelpOnEveryCommand(t *testing.T) {
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Name == "help" || c.Name == "agent" { // agent is the lead's
				continue
			}
			p := append(append([]string{}, path...), c.Name)
			if len(c.Subcommands) > 0 {
				walk(p, c.Subcommands)
				continue
			}
			r := runCLI(t, append(p, "-h")...)
			name := "orch " + strings.Join(p, " ")
			if r.code != 0 || r.stderr != "" {
				t.Errorf("%s -h: exit %d, stderr %q", name, r.code, r.stderr)
			}
			mustContain(t, name+" -h", r.stdout, "USAGE:\n   "+name, "Example")
			for _, f := range c.Flags {
				if f.Names()[0] == "address" {
					mustContain(t, name+" -h", r.stdout, "--address value", "[$ORCH_ADDR]")
				}
			}
		}
	}
	walk(nil, newApp(nil, nil).Commands)

	// Without a command: the usage on stderr, exit 1 (Nomad's behaviour).
	if r := runCLI(t); r.code != exitError || !strings.Contains(r.stderr, "job") || r.stdout != "" {
		t.Errorf("orch without arguments: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "job"); r.code != exitError || !strings.Contains(r.stderr, "status") || r.stdout != "" {
		t.Errorf("orch job: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestVersion(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	for _, v := range []string{"0.1.0", "v0.1.0"} {
		Version = v
		if r := runCLI(t, "version"); r.code != 0 || r.stdout != "orch v0.1.0\n" {
			t.Errorf("Version %q: %d %q", v, r.code, r.stdout)
		}
	}
}

func TestUnreachableAgent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()

	want := "cannot reach the orch agent at " + addr +
		`: connection refused (is "orch agent" running? set ORCH_ADDR or -address)`
	for _, args := range [][]string{
		{"job", "status", "-address", addr},
		{"node", "status", "-address", addr},
		{"alloc", "status", "-address", addr, "abc"},
		{"server", "members", "-address", addr},
	} {
		r := runCLI(t, args...)
		if r.code != exitError || !strings.Contains(r.stderr, want) {
			t.Errorf("orch %s: exit %d, stderr %q; want 1 and %q", strings.Join(args, " "), r.code, r.stderr, want)
		}
	}

	// ORCH_ADDR is the default of -address.
	t.Setenv("ORCH_ADDR", addr)
	if r := runCLI(t, "job", "status"); r.code != exitError || !strings.Contains(r.stderr, want) {
		t.Errorf("with ORCH_ADDR: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestServerMembers(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{NodeName: "s1"})
	r := runCLI(t, "server", "members", "-address", a.URL)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and the one server:\n%s", r.stdout)
	}
	mustContain(t, "header", lines[0], "Name", "Address", "Port", "Status", "Leader", "Voter", "Build", "Datacenter", "Region")
	if f := strings.Fields(lines[1]); len(f) != 9 || !strings.HasPrefix(f[0], "s1") || f[1] != "127.0.0.1" || f[3] != "alive" || f[4] != "true" || f[7] != "dc1" || f[8] != "global" {
		t.Errorf("server row: %q", lines[1])
	}
}

func TestFormatMembers(t *testing.T) {
	out := formatMembers(structsMembers.Members, "10.0.0.1:4647")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and two servers (the client left out):\n%s", out)
	}
	// s1 leads by its RPC address (no leader tag); s2 does not.
	if f := strings.Fields(lines[1]); f[0] != "s1.global" || f[1] != "10.0.0.1" || f[2] != "4648" || f[3] != "alive" || f[4] != "true" || f[5] != "true" || f[7] != "dc1" {
		t.Errorf("s1 row: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "s2.global" || f[3] != "failed" || f[4] != "false" || f[5] != "-" {
		t.Errorf("s2 row: %q", lines[2])
	}
}

var structsMembers = structs.AgentMembersResponse{
	ServerName: "s1.global", ServerRegion: "global", ServerDC: "dc1",
	Members: []*structs.AgentMember{
		{Name: "s2.global", Addr: "10.0.0.2", Port: 4648, Status: "failed",
			Tags: map[string]string{"role": "server", "dc": "dc1", "region": "global", "rpc_addr": "10.0.0.2:4647"}},
		{Name: "s1.global", Addr: "10.0.0.1", Port: 4648, Status: "alive",
			Tags: map[string]string{"role": "server", "dc": "dc1", "region": "global", "rpc_addr": "10.0.0.1:4647", "version": "0.1.0", "voter": "true"}},
		{Name: "c1", Addr: "10.0.0.9", Port: 4648, Status: "alive", Tags: map[string]string{"role": "client"}},
	},
}
