package conformance

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	napi "github.com/hashicorp/nomad/api"
)

// testClientAllocExec runs commands through Nomad's Allocations().Exec (a
// WebSocket) and reads a session's messages strictly as Nomad's types.
func testClientAllocExec(t *testing.T, e *env) {
	alloc, _, err := e.nomad.Allocations().Info(e.allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code, err := e.nomad.Allocations().Exec(ctx, alloc, "server", false,
		[]string{"/bin/sh", "-c", `read line; echo "got $line"; echo err >&2; exit 3`},
		strings.NewReader("hi\n"), &out, &errOut, nil, nil)
	if err != nil || code != 3 || out.String() != "got hi\n" || errOut.String() != "err\n" {
		t.Errorf("exec = %d, %v, stdout %q, stderr %q; want 3, got hi, err", code, err, out.String(), errOut.String())
	}
	sizes := make(chan napi.TerminalSize, 1)
	sizes <- napi.TerminalSize{Height: 40, Width: 120}
	out.Reset()
	code, err = e.nomad.Allocations().Exec(ctx, alloc, "server", true,
		[]string{"/bin/sh", "-c", `while [ "$(stty size)" != "40 120" ]; do sleep 0.02; done; echo sized`},
		strings.NewReader(""), &out, &out, sizes, nil)
	if err != nil || code != 0 || out.String() != "sized\r\n" {
		t.Errorf("exec on a terminal = %d, %v, %q", code, err, out.String())
	}

	// The raw session: every message the agent sends decodes strictly as
	// Nomad's ExecStreamingOutput.
	u, _ := url.Parse(e.agent.URL)
	u.Scheme = "ws"
	u.Path = "/v1/client/allocation/" + e.allocID + "/exec"
	u.RawQuery = url.Values{"task": {"server"}, "command": {`["/bin/echo","hello"]`}, "tty": {"false"}}.Encode()
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, u.String(), nil)
	if err != nil {
		t.Fatalf("dial the exec WebSocket: %v", err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(&napi.ExecStreamingInput{Stdin: &napi.ExecStreamingIOOperation{Close: true}}); err != nil {
		t.Fatal(err)
	}
	var got []*napi.ExecStreamingOutput
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			break
		}
		got = append(got, strictDecode[napi.ExecStreamingOutput](t, "exec message", msg))
	}
	if n := len(got); n < 2 || string(got[0].Stdout.Data) != "hello\n" || !got[n-1].Exited || got[n-1].Result == nil || got[n-1].Result.ExitCode != 0 {
		t.Errorf("exec messages: %+v, want hello then the exit", got)
	}
}

// testLifecycleWire: a task's lifecycle block travels as Nomad's
// TaskLifecycle: Nomad's client validates a job with one, a bad hook is a
// validation error naming the field, and a parsed job file carries it.
func testLifecycleWire(t *testing.T, e *env) {
	job := webJob("with-init")
	init := napi.NewTask("init", "raw_exec").SetConfig("command", "/bin/true")
	init.Lifecycle = &napi.TaskLifecycle{Hook: "prestart"}
	job.TaskGroups[0].AddTask(init)
	resp, _, err := e.nomad.Jobs().Validate(job, nil)
	if err != nil || len(resp.ValidationErrors) != 0 {
		t.Errorf("validate a job with a prestart task: %+v %v", resp, err)
	}
	init.Lifecycle.Hook = "prestrat"
	resp, _, err = e.nomad.Jobs().Validate(job, nil)
	if err != nil || len(resp.ValidationErrors) != 1 || !strings.Contains(resp.ValidationErrors[0], `lifecycle.hook = "prestrat"`) {
		t.Errorf("validate a bad hook: %+v %v", resp, err)
	}
	parsed, err := e.nomad.Jobs().ParseHCL(`job "p" {
  group "g" {
    task "side" {
      driver = "raw_exec"
      lifecycle {
        hook    = "prestart"
        sidecar = true
      }
      config { command = "/bin/true" }
    }
  }
}`, true)
	if err != nil || parsed.TaskGroups[0].Tasks[0].Lifecycle == nil || *parsed.TaskGroups[0].Tasks[0].Lifecycle != (napi.TaskLifecycle{Hook: "prestart", Sidecar: true}) {
		t.Errorf("parse a lifecycle block: %+v %v", parsed, err)
	}
}
