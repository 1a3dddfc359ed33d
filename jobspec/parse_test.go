package jobspec

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/orch-io/orch/structs"
)

func TestValidationDiagnosticsCarryTheValidationError(t *testing.T) {
	src := "job \"j\" {\n  group \"g\" {\n    count = -3\n    task \"t\" { driver = \"raw_exec\" }\n  }\n}\n"
	_, err := Parse("job.hcl", []byte(src), Options{})
	var perr *Error
	if !errors.As(err, &perr) || len(perr.Diagnostics) != 1 {
		t.Fatalf("want one diagnostic, got %v", err)
	}
	d := perr.Diagnostics[0]
	ve, ok := d.Extra.(*structs.ValidationError)
	if !ok || ve.Field != "count" || ve.GroupIndex != 0 || ve.Value != "-3" {
		t.Fatalf("Extra = %#v", d.Extra)
	}
	if d.Subject == nil || d.Subject.Start.Line != 3 || d.Subject.End.Line != 3 || d.Subject.Filename != "job.hcl" {
		t.Fatalf("Subject = %+v", d.Subject)
	}
}

func TestErrorFormat(t *testing.T) {
	rng := &hcl.Range{Filename: "a.hcl", Start: hcl.Pos{Line: 3, Column: 7}}
	e := &Error{Diagnostics: hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "no position", Detail: "some detail"},
		{Severity: hcl.DiagError, Summary: "summary only", Subject: rng},
		{Severity: hcl.DiagWarning, Summary: "careful", Detail: "d", Subject: rng},
	}}
	want := "no position; some detail\na.hcl:3:7: summary only\na.hcl:3:7: warning: careful; d"
	if e.Error() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", e.Error(), want)
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(path, []byte("job \"j\" {\n  priority = 0\n  group \"g\" {\n    task \"t\" { driver = \"raw_exec\" }\n  }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Priority 0 is "unset" and gets the default: the file is valid.
	if _, err := ParseFile(path, Options{}); err != nil {
		t.Fatalf("priority 0 is the default: %v", err)
	}
	if err := os.WriteFile(path, []byte("job \"j\" {\n  priority = 101\n  group \"g\" {\n    task \"t\" { driver = \"raw_exec\" }\n  }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ParseFile(path, Options{})
	if want := path + ":2:3: priority = 101: must be between 1 and 100"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	_, err = ParseFile(filepath.Join(dir, "missing.hcl"), Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestExamplesParse(t *testing.T) {
	hello, err := ParseFile("../examples/hello.hcl", Options{})
	if err != nil {
		t.Fatalf("hello.hcl: %v", err)
	}
	if hello.ID != "hello" || hello.Type != structs.JobTypeBatch || len(hello.TaskGroups) != 1 || len(hello.TaskGroups[0].Tasks) != 1 {
		t.Fatalf("hello.hcl: %s", dump(hello))
	}
	ht := hello.TaskGroups[0].Tasks[0]
	if ht.Driver != "raw_exec" || !reflect.DeepEqual(*ht.Resources, structs.Resources{CPU: 50, MemoryMB: 32}) {
		t.Fatalf("hello task: %s", dump(ht))
	}

	web, err := ParseFile("../examples/web.hcl", Options{})
	if err != nil {
		t.Fatalf("web.hcl: %v", err)
	}
	wg := web.TaskGroups[0]
	if web.ID != "web" || web.Type != structs.JobTypeService || wg.Count != 3 || wg.RestartPolicy == nil {
		t.Fatalf("web.hcl: %s", dump(web))
	}
	wt := wg.Tasks[0]
	if wt.Driver != "raw_exec" || !reflect.DeepEqual(*wt.Resources, structs.Resources{CPU: 100, MemoryMB: 64}) || wt.Env["MESSAGE"] != "still serving" {
		t.Fatalf("web task: %s", dump(wt))
	}
	// Three instances must fit on one machine: a dynamic port only, and no
	// process that binds it.
	if len(wg.Networks) != 1 || len(wg.Networks[0].ReservedPorts) != 0 ||
		!reflect.DeepEqual(wg.Networks[0].DynamicPorts, []structs.Port{{Label: "http"}}) {
		t.Fatalf("web.hcl network: %s", dump(wg.Networks))
	}
	for _, arg := range wt.Config["args"].([]any) {
		if s := arg.(string); strings.Contains(s, "nc ") {
			t.Fatalf("web.hcl must not bind a port: %q", s)
		}
	}

	web5, err := ParseFile("../examples/web.hcl", Options{Vars: []string{"count=5", "message=hi there"}})
	if err != nil {
		t.Fatalf("web.hcl with -var: %v", err)
	}
	if web5.TaskGroups[0].Count != 5 || web5.TaskGroups[0].Tasks[0].Env["MESSAGE"] != "hi there" {
		t.Fatalf("-var count=5 message=...: %s", dump(web5.TaskGroups[0]))
	}
}

// TestHelloExampleRuns runs the hello task's command the way the raw_exec
// driver will, with the environment the client gives tasks, and checks it
// prints one line naming the allocation and exits 0.
func TestHelloExampleRuns(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	job, err := ParseFile("../examples/hello.hcl", Options{})
	if err != nil {
		t.Fatal(err)
	}
	task := job.TaskGroups[0].Tasks[0]
	var args []string
	for _, a := range task.Config["args"].([]any) {
		args = append(args, a.(string))
	}
	cmd := exec.Command(task.Config["command"].(string), args...)
	dir := t.TempDir()
	cmd.Env = []string{"ORCH_ALLOC_ID=1234-abcd", "ORCH_JOB_NAME=hello", "ORCH_GROUP_NAME=hello",
		"ORCH_TASK_NAME=hello", "ORCH_ALLOC_DIR=" + dir, "ORCH_TASK_DIR=" + dir + "/hello"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hello task failed: %v (output %q)", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "hello from 1234-abcd") {
		t.Fatalf("output %q, want one line with the alloc ID", out)
	}
}

// FuzzParse checks that no input makes Parse panic, and that it returns
// exactly one of a job and an *Error. `go test` runs the seeds; run
// `go test -fuzz FuzzParse ./jobspec` to search further.
func FuzzParse(f *testing.F) {
	examples, err := filepath.Glob("../examples/*.hcl")
	if err != nil || len(examples) < 5 {
		f.Fatalf("examples: %v, %v", examples, err)
	}
	for _, path := range examples {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src), "count=2")
		f.Add(string(src), "")
		if _, err := ParseFile(path, Options{}); err != nil {
			f.Errorf("%s: %v", path, err)
		}
	}
	f.Add(varsJob, `dcs=["a"]`)
	f.Add(`locals { a = local }`+"\n"+`job "j" { }`, "")
	f.Add("job \"j\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"${attr.a}${attr.a.b}\"\n      config { x = attr[*] }\n    }\n  }\n}\n", "")
	f.Fuzz(func(t *testing.T, src, varArg string) {
		job, err := Parse("fuzz.hcl", []byte(src), Options{Vars: []string{varArg}})
		if (job == nil) == (err == nil) {
			t.Fatalf("job %v and error %v", job, err)
		}
		var perr *Error
		if err != nil && !errors.As(err, &perr) {
			t.Fatalf("%T is not an *Error", err)
		}
		if job != nil {
			if verr := job.Validate(); verr != nil {
				t.Fatalf("Parse returned an invalid job: %v", verr)
			}
		}
	})
}

// TestWebExampleRuns starts the web task's command with the client's
// environment, reads its first line (the message, with the allocation ID the
// shell expanded) and stops it.
func TestWebExampleRuns(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	job, err := ParseFile("../examples/web.hcl", Options{Vars: []string{"message=checking"}})
	if err != nil {
		t.Fatal(err)
	}
	task := job.TaskGroups[0].Tasks[0]
	var args []string
	for _, a := range task.Config["args"].([]any) {
		args = append(args, a.(string))
	}
	cmd := exec.Command(task.Config["command"].(string), args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "ORCH_ALLOC_ID=alloc-1", "ORCH_PORT_http=23456"}
	for k, v := range task.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	select {
	case line := <-lines:
		if !strings.Contains(line, "alloc-1 on port 23456: checking") {
			t.Fatalf("first line %q, want the alloc ID, the port and the message", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the web task printed nothing in 10s")
	}
}
