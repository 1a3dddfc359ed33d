package command

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

const checkIndexText = `When running the job with the check-index flag, the job will only be run if the
job modify index given matches the server-side version. If the index has
changed, another user has modified the job and the plan's results are
potentially invalid.
`

func TestJobPlanNewJob(t *testing.T) {
	a := startClientAgent(t)
	path := writeJSONJob(t, structstest.Job("web"), true)
	r := runCLI(t, "job", "plan", "-json", "-address", a.addr, path)
	want := `+ Job: "web"
+ Task Group: "web" (1 create)
  + Task: "server" (forces create)

Scheduler dry-run:
- All tasks successfully allocated.

Job Modify Index: 0
To submit the job with version verification run:

orch job run -check-index 0 -json ` + path + `

` + checkIndexText
	if r.code != 1 || r.stdout != want || r.stderr != "" {
		t.Errorf("exit %d, want 1\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	if a.job(t, "web") != nil {
		t.Error("job plan registered the job")
	}
}

// storeRunning registers job and waits until its evaluation is complete.
func storeRunning(t *testing.T, a *testAgent, job *structs.Job) *structs.Job {
	t.Helper()
	evalID := a.register(t, job)
	waitFor(t, "the evaluation of "+job.ID, func() bool {
		e, _, err := a.API.Evaluations().Info(evalID, nil)
		return err == nil && e.Status == structs.EvalStatusComplete
	})
	return a.job(t, job.ID)
}

func TestJobPlanChangedJob(t *testing.T) {
	a := startClientAgent(t)
	stored := storeRunning(t, a, structstest.Job("web"))
	next := structstest.Job("web")
	next.Priority = 70
	next.TaskGroups[0].Count = 3
	next.TaskGroups[0].Tasks[0].Env = map[string]string{"PORT": "80"}
	next.TaskGroups[0].Tasks[0].Resources.CPU = 200
	path := writeJSONJob(t, next, true)

	r := runCLI(t, "job", "plan", "-json", "-address", a.addr, path)
	want := `+/- Job: "web"
+/- Priority: "50" => "70"
+/- Task Group: "web" (2 create, 1 create/destroy update)
  +/- Count: "1" => "3" (forces create)
  +/- Task: "server" (forces create/destroy update)
    + Env[PORT]: "80"
    +/- Resources {
      +/- CPU: "100" => "200"
        }

Scheduler dry-run:
- All tasks successfully allocated.
`
	if r.code != 1 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("exit %d, want 1\nstdout:\n%s\nwant prefix:\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	mustContain(t, "plan output", r.stdout, "Job Modify Index: "+itoa(stored.JobModifyIndex)+"\n",
		"orch job run -check-index "+itoa(stored.JobModifyIndex)+" -json "+path+"\n")

	// -verbose shows what did not change around what did.
	r = runCLI(t, "job", "plan", "-verbose", "-json", "-address", a.addr, path)
	mustContain(t, "plan -verbose", r.stdout, `+/- Job: "web"
    AllAtOnce: "false"
    ID: "web"
    Name: "web"
    Namespace: "default"
    NodePool: "default"
+/- Priority: "50" => "70"
`, `  +/- Task: "server" (forces create/destroy update)
        Driver: "raw_exec"
    + Env[PORT]: "80"
`, `        Config {
          args[0]: "3600"
          command: "/bin/sleep"
        }
    +/- Resources {
      +/- CPU: "100" => "200"
          MemoryMB: "128"
        }
`)

	// Without the diff: only the dry run and the index.
	r = runCLI(t, "job", "plan", "-diff=false", "-json", "-address", a.addr, path)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "Scheduler dry-run:\n") {
		t.Errorf("-diff=false: exit %d\n%s", r.code, r.stdout)
	}
}

func TestJobPlanNoChangesExitsZero(t *testing.T) {
	a := startClientAgent(t)
	storeRunning(t, a, structstest.Job("web"))
	r := runCLI(t, "job", "plan", "-json", "-address", a.addr, writeJSONJob(t, structstest.Job("web"), true))
	want := `Job: "web"
Task Group: "web" (1 ignore)
  Task: "server"

Scheduler dry-run:
- All tasks successfully allocated.
`
	if r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("exit %d, want 0\nstdout:\n%s\nwant prefix:\n%s", r.code, r.stdout, want)
	}
}

func TestJobPlanPlacementFailures(t *testing.T) {
	a := startClientAgent(t)
	// Three allocations of which the node fits two by memory.
	node, _, err := a.API.Nodes().Info(a.NodeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := structstest.Job("web")
	job.TaskGroups[0].Count = 3
	job.TaskGroups[0].Tasks[0].Resources.MemoryMB = (node.NodeResources.MemoryMB - reservedMemory(node)) * 2 / 5
	r := runCLI(t, "job", "plan", "-json", "-address", a.addr, writeJSONJob(t, job, true))
	want := `Scheduler dry-run:
- WARNING: Failed to place all allocations.
  Task Group "web" (failed to place 1 allocation):
    * Resources exhausted on 1 nodes
    * Dimension "memory" exhausted on 1 nodes

  A blocked evaluation would wait for additional capacity to place the remainder.
`
	if r.code != 1 || !strings.Contains(r.stdout, want) {
		t.Errorf("exit %d, want 1\nstdout:\n%s\nwant:\n%s", r.code, r.stdout, want)
	}
}

func TestJobPlanErrorsExit255(t *testing.T) {
	a := startAgent(t)
	faults, _, faultAddr := a.ServeFaults(t)
	faults.Fail("Job.Plan", structs.NewError(structs.CodeInternal, "raft: boom"))
	r := runCLI(t, "job", "plan", "-json", "-address", faultAddr, writeJSONJob(t, structstest.Job("web"), true))
	if r.code != 255 || r.stderr != "Error during plan: raft: boom\n" || r.stdout != "" {
		t.Errorf("failed RPC: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "job", "plan", "-address", a.addr, "/nonexistent/job.hcl")
	if r.code != 255 || !strings.Contains(r.stderr, "Error parsing job file /nonexistent/job.hcl") {
		t.Errorf("missing file: exit %d, stderr %q", r.code, r.stderr)
	}
	bad := structstest.Job("web")
	bad.TaskGroups[0].Count = -1
	r = runCLI(t, "job", "plan", "-json", "-address", a.addr, writeJSONJob(t, bad, true))
	if r.code != 255 || !strings.Contains(r.stderr, "Job validation errors:") {
		t.Errorf("invalid job: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, "job", "plan", "-address", a.addr); r.code != 2 {
		t.Errorf("no argument: exit %d, want 2 (usage)", r.code)
	}
}

// reservedMemory is the memory a node keeps for itself, in MB.
func reservedMemory(n *structs.Node) int {
	if n.ReservedResources == nil {
		return 0
	}
	return n.ReservedResources.MemoryMB
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// The check-index hint repeats the -var, -var-file and -json flags of the
// plan, so that the command it prints runs the job that was planned; each
// word is quoted so that a shell splits the line back into the same words.
func TestJobPlanHintRepeatsTheJobFileFlags(t *testing.T) {
	a := startAgent(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "my web.hcl")
	src := `variable "greeting" { type = string }
variable "count" { type = number }

job "hello" {
  group "hello" {
    count = var.count
    task "echo" {
      driver = "raw_exec"
      config {
        command = "/bin/echo"
        args    = [var.greeting]
      }
    }
  }
}
`
	varFile := filepath.Join(dir, "vars.hcl")
	for name, content := range map[string]string{path: src, varFile: "count = 3\n"} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := runCLI(t, "job", "plan", "-address", a.addr, "-var-file", varFile, "-var", "greeting=it's me", "-var", "count=2", path)
	if r.code != 1 {
		t.Fatalf("plan: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	const prefix = "orch job run -check-index 0 "
	var hint string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, prefix) {
			hint = strings.TrimPrefix(line, prefix)
		}
	}
	if hint == "" {
		t.Fatalf("no line %q in the plan output:\n%s", prefix, r.stdout)
	}
	out, err := exec.Command("/bin/sh", "-c", `printf '%s\n' `+hint).Output()
	if err != nil {
		t.Fatalf("sh cannot read the hint %q: %v", hint, err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	want := []string{"-var", "greeting=it's me", "-var", "count=2", "-var-file", varFile, path}
	if !slices.Equal(got, want) {
		t.Errorf("hint %q reads as %q, want %q", hint, got, want)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"count=2":         "count=2",
		"/tmp/web.hcl":    "/tmp/web.hcl",
		"":                "''",
		"a b":             "'a b'",
		"it's":            `'it'\''s'`,
		"$HOME":           "'$HOME'",
		"x=`id`;rm -rf /": "'x=`id`;rm -rf /'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestJobPlanShowsTheDeployment: a change of a job with an update block
// shows the deployment it would create: canaries, max_parallel per group.
func TestJobPlanShowsTheDeployment(t *testing.T) {
	a := startClientAgent(t)
	job := structstest.Job("web")
	job.TaskGroups[0].Count = 3
	job.TaskGroups[0].Update = &structs.UpdateStrategy{MaxParallel: 2, Canary: 1, HealthCheck: structs.UpdateHealthCheckTaskStates,
		MinHealthyTime: time.Second, HealthyDeadline: time.Minute, ProgressDeadline: 10 * time.Minute, AutoRevert: true}
	storeRunning(t, a, job)
	next := job.Copy()
	next.TaskGroups[0].Tasks[0].Env = map[string]string{"V": "2"}
	path := writeJSONJob(t, next, true)
	r := runCLI(t, "job", "plan", "-diff=false", "-json", "-address", a.addr, path)
	want := `Scheduler dry-run:
- All tasks successfully allocated.

Deployment:
- The change creates a deployment; its canaries wait for a promotion ("orch deployment promote") unless auto_promote.
Task Group  Desired  Canaries  Max Parallel  Auto Promote  Auto Revert  Progress Deadline
web         3        1         2             false         true         10m0s
`
	if r.code != 1 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("exit %d, want 1\nstdout:\n%s\nwant prefix:\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
}
