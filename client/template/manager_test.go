package template

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// registry is a ServiceSource in memory: set changes a service and wakes
// the blocking reads.
type registry struct {
	mu      sync.Mutex
	index   uint64
	regs    map[string][]*structs.ServiceRegistration
	changed chan struct{}
}

func newRegistry() *registry {
	return &registry{index: 1, regs: map[string][]*structs.ServiceRegistration{}, changed: make(chan struct{})}
}

func (r *registry) set(name string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var regs []*structs.ServiceRegistration
	for i, a := range addrs {
		regs = append(regs, &structs.ServiceRegistration{ID: name + string(rune('a'+i)), ServiceName: name, Address: a, Port: 80, Tags: []string{"t" + a}})
	}
	r.regs[name] = regs
	r.index++
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *registry) Service(ctx context.Context, _, name string, minIndex uint64) (ServiceQuery, error) {
	for {
		r.mu.Lock()
		q, ch := ServiceQuery{Instances: r.regs[name], Index: r.index}, r.changed
		r.mu.Unlock()
		if q.Index > minIndex || minIndex == 0 {
			return q, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return q, ctx.Err()
		}
	}
}

func (r *registry) Services(ctx context.Context, ns string, minIndex uint64) (ServiceQuery, error) {
	q, err := r.Service(ctx, ns, "", minIndex)
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, regs := range r.regs {
		if len(regs) > 0 {
			q.Services = append(q.Services, &structs.ServiceRegistrationListStub{ServiceName: name})
		}
	}
	return q, err
}

func TestRenderFunctionsAndReRenderOnChange(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "greeting.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := newRegistry()
	reg.set("db", "10.0.0.1", "10.0.0.2")
	reg.set("cache", "10.0.0.9")
	tmpls := []*structs.Template{
		{EmbeddedTmpl: `{{ range nomadService "db" }}{{ .Address }}:{{ .Port }} {{ end }}|{{ range nomadServices }}{{ .ServiceName }},{{ end }}|{{ env "NAME" }}|{{ file "greeting.txt" | toUpper }}|{{ join "+" (split "," "a,b") }}|{{ len (nomadService "t10.0.0.2.db") }}|{{ len (nomadService 1 "k" "db") }}`,
			DestPath: "local/out.txt", ChangeMode: structs.TemplateChangeModeSignal, ChangeSignal: "SIGHUP", Perms: "0600", LeftDelim: "{{", RightDelim: "}}"},
		{EmbeddedTmpl: "DBS=[[ len (nomadService \"db\") ]]\n# comment\n", DestPath: "local/env", Envvars: true,
			ChangeMode: structs.TemplateChangeModeNoop, Perms: "0644", LeftDelim: "[[", RightDelim: "]]"},
	}
	read := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "local", "out.txt"))
		return string(b)
	}
	// A signal carries the file as the render that sent it wrote it: the
	// manager signals after writing, before rendering again.
	type signal struct{ name, file string }
	signals := make(chan signal, 10)
	m := New(Config{Templates: tmpls, TaskDir: dir, Env: map[string]string{"NAME": "web"}, Source: reg,
		Signal:  func(s string) error { signals <- signal{s, read()}; return nil },
		Restart: func(string) error { t.Error("restart asked by a signal template"); return nil }})
	env, err := m.RenderAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := "10.0.0.1:80 10.0.0.2:80 |cache,db,|web|HELLO|a+b|1|1"
	if got := read(); got != want {
		t.Fatalf("rendered %q, want %q", got, want)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "local", "out.txt")); fi.Mode().Perm() != 0o600 {
		t.Errorf("perms %v", fi.Mode().Perm())
	}
	if env["DBS"] != "2" || len(env) != 1 {
		t.Errorf("env %v", env)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	reg.set("db", "10.0.0.3")
	// Each service query of the template is watched on its own, so a render
	// may come between their answers, as consul-template's does without a
	// wait block: the change shows after one signal or a few, each one a
	// file that changed.
	want = "10.0.0.3:80 |cache,db,|web|HELLO|a+b|0|1"
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case sig := <-signals:
			if sig.name != "SIGHUP" {
				t.Fatalf("signal %q", sig.name)
			}
			done = sig.file == want
		case <-timeout:
			t.Fatalf("no signal with the file re-rendered after the service changed; the file: %q, want %q", read(), want)
		}
	}
	// A change the files do not show (cache's address: the templates list
	// only its name) renders nothing new.
	reg.set("cache", "10.9.9.9")
	reg.set("db", "10.0.0.3")
	select {
	case sig := <-signals:
		t.Fatalf("signalled %q though no file changed", sig)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestRenderErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "src.tmpl"), []byte(`{{ key "a" }}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tmpl *structs.Template
		want string
	}{
		{&structs.Template{SourcePath: "src.tmpl", DestPath: "out"}, `function "key" is not supported (Consul KV)`},
		{&structs.Template{EmbeddedTmpl: `{{ .Nope.Deeper }}`, DestPath: "out", ErrMissingKey: true}, `no entry for key "Nope"`},
		{&structs.Template{EmbeddedTmpl: `{{ nomadService }}`, DestPath: "out"}, "nomadService takes a service name"},
	} {
		tc.tmpl.LeftDelim, tc.tmpl.RightDelim, tc.tmpl.Perms = "{{", "}}", "0644"
		m := New(Config{Templates: []*structs.Template{tc.tmpl}, TaskDir: dir, Source: newRegistry()})
		if _, err := m.RenderAll(t.Context()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.tmpl.DestPath, err, tc.want)
		}
	}
}

func TestFunctionsMatchTheValidatedList(t *testing.T) {
	r := &render{}
	got := r.funcs()
	for _, name := range structs.TemplateFunctions {
		if got[name] == nil {
			t.Errorf("structs.TemplateFunctions lists %q; the renderer lacks it", name)
		}
		delete(got, name)
	}
	for name := range got {
		t.Errorf("the renderer offers %q; add it to structs.TemplateFunctions", name)
	}
}

// change_mode "script": a re-render runs the change_script (command and
// args) through Script; a failing one kills the task only with
// fail_on_error.
func TestChangeScript(t *testing.T) {
	for _, tc := range []struct {
		name        string
		exit        int
		failOnError bool
		wantKill    bool
	}{
		{name: "succeeds", exit: 0, failOnError: true},
		{name: "fails, logged only", exit: 2},
		{name: "fails with fail_on_error", exit: 2, failOnError: true, wantKill: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry()
			reg.set("db", "10.0.0.1")
			tmpl := &structs.Template{EmbeddedTmpl: `{{ range nomadService "db" }}{{ .Address }}{{ end }}`, DestPath: "local/db",
				ChangeMode: structs.TemplateChangeModeScript, Perms: "0644", LeftDelim: "{{", RightDelim: "}}",
				ChangeScript: &structs.ChangeScript{Command: "/local/reload.sh", Args: []string{"-q"}, Timeout: time.Second, FailOnError: tc.failOnError}}
			ran := make(chan []string, 4)
			killed := make(chan string, 4)
			m := New(Config{Templates: []*structs.Template{tmpl}, TaskDir: t.TempDir(), Source: reg,
				Script: func(ctx context.Context, cmd []string) (int, string, error) {
					if _, ok := ctx.Deadline(); !ok {
						t.Error("change_script run without its timeout")
					}
					ran <- cmd
					return tc.exit, "reload output", nil
				},
				Kill:    func(reason string) { killed <- reason },
				Restart: func(string) error { t.Error("restart asked by a script template"); return nil },
				Signal:  func(string) error { t.Error("signal asked by a script template"); return nil }})
			if _, err := m.RenderAll(t.Context()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { defer close(done); m.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			reg.set("db", "10.0.0.2")
			select {
			case cmd := <-ran:
				if strings.Join(cmd, " ") != "/local/reload.sh -q" {
					t.Fatalf("ran %q", cmd)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no change_script run after the service changed")
			}
			if tc.wantKill {
				select {
				case reason := <-killed:
					if !strings.Contains(reason, "exited 2: reload output") {
						t.Errorf("kill reason %q", reason)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("a failing change_script with fail_on_error did not kill the task")
				}
				return
			}
			cancel()
			<-done
			select {
			case reason := <-killed:
				t.Fatalf("killed (%q) without fail_on_error or failure", reason)
			default:
			}
		})
	}
}

// Templates written for Nomad render: the instances and services carry
// Nomad's field names (Name, Node; Tags.Contains) beside orch's, and
// consul-template's common functions take their arguments in its order
// (the piped value last).
func TestNomadTemplateNamesAndFunctions(t *testing.T) {
	reg := newRegistry()
	reg.set("db", "10.0.0.1", "10.0.0.2")
	for _, tc := range []struct{ tmpl, want string }{
		{`{{ range nomadService "db" }}{{ .Name }}/{{ .ServiceName }} {{ .Tags }} {{ .Node }}{{ .NodeID }};{{ end }}`, "db/db [t10.0.0.1] ;db/db [t10.0.0.2] ;"},
		{`{{ range nomadServices }}{{ .Name }}={{ .ServiceName }}{{ end }}`, "db=db"},
		{`{{ range nomadService "db" }}{{ if .Tags.Contains "t10.0.0.2" }}{{ .Address }}{{ end }}{{ if .Tags | contains "t10.0.0.1" }}+{{ end }}{{ end }}`, "+10.0.0.2"},
		{`{{ with index (nomadService "db") 0 }}{{ .Address }}:{{ .Port }}{{ end }}`, "10.0.0.1:80"},
		{`{{ range $tag, $s := nomadService "db" | byTag }}{{ $tag }}:{{ len $s }} {{ end }}`, "t10.0.0.1:1 t10.0.0.2:1 "},
		{`{{ in (split "," "a,b") "b" }} {{ "abc" | contains "b" }} {{ split "," "a,b" | containsAll (split "," "a,b") }} {{ split "," "a" | containsAny (split "," "x,y") }}`, "true true true false"},
		{`{{ 5 | subtract 2 }} {{ add 1 2 }} {{ multiply 3 "4" }} {{ range loop 3 }}{{ . }}{{ end }} {{ range loop 2 4 }}{{ . }}{{ end }}`, "3 3 12 012 23"},
		{`{{ "v1.2" | trimPrefix "v" | trimSuffix ".2" }} {{ "aGk=" | base64Decode }} {{ base64Encode "hi" }} {{ "a1b22" | regexReplaceAll "[0-9]+" "#" }} {{ regexMatch "^a" "abc" }} {{ parseFloat "1.5" }}`, "1 hi aGk= a#b# true 1.5"},
		{`{{ envOrDefault "NAME" "x" }} {{ envOrDefault "NOPE" "x" }} {{ env "node.unique.name" }} {{ timestamp "unix" }}`, "web x n1 86400"},
	} {
		m := New(Config{Templates: []*structs.Template{{EmbeddedTmpl: tc.tmpl, DestPath: "out", Perms: "0644", LeftDelim: "{{", RightDelim: "}}"}},
			TaskDir: t.TempDir(), Source: reg, Env: map[string]string{"NAME": "web", "node.unique.name": "n1"},
			Now: func() time.Time { return time.Unix(86400, 0) }})
		if _, err := m.RenderAll(t.Context()); err != nil {
			t.Errorf("%s: %v", tc.tmpl, err)
			continue
		}
		if b, _ := os.ReadFile(filepath.Join(m.cfg.TaskDir, "out")); string(b) != tc.want {
			t.Errorf("%s rendered %q, want %q", tc.tmpl, b, tc.want)
		}
	}
}

// A destination is relative to the task's directory, or absolute (as an
// interpolated "${NOMAD_TASK_DIR}/x" is) within the allocation's; none
// may leave it.
func TestDestinationsStayInTheAllocation(t *testing.T) {
	root := t.TempDir()
	taskDir := filepath.Join(root, "web")
	for _, tc := range []struct{ dest, wantFile, wantErr string }{
		{dest: "local/a.conf", wantFile: filepath.Join(taskDir, "local", "a.conf")},
		{dest: filepath.Join(taskDir, "local", "b.conf"), wantFile: filepath.Join(taskDir, "local", "b.conf")},
		{dest: filepath.Join(root, "alloc", "c.conf"), wantFile: filepath.Join(root, "alloc", "c.conf")},
		{dest: "../../escape.conf", wantErr: "is outside the allocation's directory"},
		{dest: "/etc/orch-escape.conf", wantErr: "is outside the allocation's directory"},
	} {
		m := New(Config{Templates: []*structs.Template{{EmbeddedTmpl: "x", DestPath: tc.dest, Perms: "0644", LeftDelim: "{{", RightDelim: "}}"}},
			TaskDir: taskDir, Root: root, Source: newRegistry()})
		_, err := m.RenderAll(t.Context())
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.dest, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.dest, err)
		} else if b, _ := os.ReadFile(tc.wantFile); string(b) != "x" {
			t.Errorf("%s: %s holds %q", tc.dest, tc.wantFile, b)
		}
	}
}

func TestWaitBounds(t *testing.T) {
	w := func(lo, hi time.Duration) *structs.Template {
		return &structs.Template{Wait: &structs.TemplateWait{Min: lo, Max: hi}}
	}
	for _, tc := range []struct {
		ts     []*structs.Template
		lo, hi time.Duration
	}{
		{nil, 0, 0},
		{[]*structs.Template{{}}, 0, 0},
		{[]*structs.Template{w(2*time.Second, 0)}, 2 * time.Second, 8 * time.Second},
		{[]*structs.Template{w(time.Second, 10*time.Second), w(3*time.Second, 5*time.Second), {}}, 3 * time.Second, 10 * time.Second},
	} {
		if lo, hi := waitBounds(tc.ts); lo != tc.lo || hi != tc.hi {
			t.Errorf("waitBounds = %v, %v; want %v, %v", lo, hi, tc.lo, tc.hi)
		}
	}
}

// A template with a wait block re-renders only once what it reads has
// been quiet for wait.min: with a long one, a change renders nothing yet;
// with a short one, a burst of changes ends in a render of the last.
func TestWaitDelaysTheReRender(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait time.Duration
	}{{"long", time.Hour}, {"short", 50 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry()
			reg.set("db", "10.0.0.1")
			dir := t.TempDir()
			signals := make(chan string, 10)
			m := New(Config{Templates: []*structs.Template{{EmbeddedTmpl: `{{ range nomadService "db" }}{{ .Address }}{{ end }}`, DestPath: "db",
				ChangeMode: structs.TemplateChangeModeSignal, ChangeSignal: "SIGHUP", Perms: "0644", LeftDelim: "{{", RightDelim: "}}",
				Wait: &structs.TemplateWait{Min: tc.wait}}},
				TaskDir: dir, Source: reg, Signal: func(s string) error { signals <- s; return nil }})
			if _, err := m.RenderAll(t.Context()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { defer close(done); m.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			read := func() string { b, _ := os.ReadFile(filepath.Join(dir, "db")); return string(b) }
			reg.set("db", "10.0.0.2")
			reg.set("db", "10.0.0.3")
			if tc.wait == time.Hour {
				select {
				case <-signals:
					t.Fatalf("re-rendered (%q) before wait.min", read())
				case <-time.After(300 * time.Millisecond):
				}
				if got := read(); got != "10.0.0.1" {
					t.Fatalf("the file reads %q before wait.min", got)
				}
				cancel()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("Run did not end with its context while waiting")
				}
				return
			}
			// Once quiet, the last change is rendered (the two sets may
			// straddle a wait.min on a loaded machine: then twice).
			deadline := time.After(10 * time.Second)
			for read() != "10.0.0.3" {
				select {
				case <-signals:
				case <-deadline:
					t.Fatalf("the file reads %q 10s after the changes, want the last", read())
				}
			}
		})
	}
}

// An env template is read as Nomad reads one (dotenv): quotes, escapes,
// export, spaces around "=", comments.
func TestParseEnv(t *testing.T) {
	got := parseEnv(`
# a comment
DB_CONNECTION="host=10.0.0.1 port=5432 user=postgres"
BIND_ADDRESS = "127.0.0.1:9090"
export TOKEN=abc
LITERAL='a "b" \n c'
ESCAPED="line1\nline2 \"q\" \\"
PLAIN=x y # trailing comment
EMPTY=
HASH=a#b
`)
	want := map[string]string{
		"DB_CONNECTION": "host=10.0.0.1 port=5432 user=postgres", "BIND_ADDRESS": "127.0.0.1:9090", "TOKEN": "abc",
		"LITERAL": `a "b" \n c`, "ESCAPED": "line1\nline2 \"q\" \\", "PLAIN": "x y", "EMPTY": "", "HASH": "a#b",
	}
	if !maps.Equal(got, want) {
		t.Errorf("parsed\n %q\nwant\n %q", got, want)
	}
}
