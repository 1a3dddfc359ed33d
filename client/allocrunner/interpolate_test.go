package allocrunner

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestInterpolate(t *testing.T) {
	vars := map[string]string{
		"NOMAD_PORT_http": "8080", "NOMAD_ALLOC_ID": "a1", "attr.kernel.name": "linux",
		"meta.rack": "r1", "node.unique.id": "n1", "EMPTY": "",
	}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"${NOMAD_PORT_http}", "8080"},
		{"--port=${NOMAD_PORT_http} --id=${NOMAD_ALLOC_ID}", "--port=8080 --id=a1"},
		{"${attr.kernel.name}/${meta.rack}/${node.unique.id}", "linux/r1/n1"},
		{"${NOMAD_PORT_nope}", "${NOMAD_PORT_nope}"}, // unknown: left as written
		{"${meta.missing}-${meta.rack}", "${meta.missing}-r1"},
		{"[${EMPTY}]", "[]"},
		{"$NOMAD_PORT_http", "$NOMAD_PORT_http"}, // only ${...} is interpolated
		{"${NOMAD_PORT_http", "${NOMAD_PORT_http"},
		{"${}", "${}"},
		{"${a b}", "${a b}"},
		{"$${NOMAD_PORT_http}", "$8080"},
		{"${${NOMAD_PORT_http}}", "${8080}"},
	} {
		if got := interpolate(tc.in, vars); got != tc.want {
			t.Errorf("interpolate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInterpolateConfigCopies(t *testing.T) {
	vars := map[string]string{"P": "1"}
	config := func() map[string]any {
		return map[string]any{
			"command": "/bin/${P}",
			"args":    []any{"-p", "${P}", 3},
			"list":    []string{"${P}"},
			"nested":  map[string]any{"k": "${P}", "${P}": "key kept"},
			"blocks":  []map[string]any{{"v": "${P}"}},
			"labels":  map[string]string{"l": "${P}"},
			"n":       7,
			"b":       true,
		}
	}
	cfg, orig := config(), config()
	want := map[string]any{
		"command": "/bin/1",
		"args":    []any{"-p", "1", 3},
		"list":    []string{"1"},
		"nested":  map[string]any{"k": "1", "${P}": "key kept"},
		"blocks":  []map[string]any{{"v": "1"}},
		"labels":  map[string]string{"l": "1"},
		"n":       7,
		"b":       true,
	}
	if got := interpolateConfig(cfg, vars); !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	if !reflect.DeepEqual(cfg, orig) {
		t.Errorf("the job's config was changed: %#v", cfg)
	}
	if interpolateConfig(nil, vars) != nil {
		t.Error("nil config not kept nil")
	}
}

func TestNodeVars(t *testing.T) {
	n := &structs.Node{ID: "id1", Name: "name1", Datacenter: "dc9", NodeClass: "gpu",
		Attributes: map[string]string{"kernel.name": "linux"}, Meta: map[string]string{"rack": "r7"}}
	want := map[string]string{
		"node.unique.id": "id1", "node.unique.name": "name1", "node.datacenter": "dc9", "node.class": "gpu",
		"node.pool": "default", "node.region": "west", "attr.kernel.name": "linux", "meta.rack": "r7",
	}
	if got := nodeVars(n, "west"); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := nodeVars(nil, "west"); len(got) != 0 {
		t.Errorf("nil node: %v", got)
	}
}

func TestBuildTaskEnvInterpolatesEnvAndMeta(t *testing.T) {
	task := shellTask("web", "true")
	task.Env = map[string]string{"LISTEN": "0.0.0.0:${NOMAD_PORT_http}", "RACK": "${meta.rack}", "KEEP": "${nope}"}
	task.Meta = map[string]string{"owner": "team-${node.datacenter}", "shared": "task"}
	job := testJob(structs.JobTypeService, nil, task)
	job.Meta = map[string]string{"shared": "job", "from-job": "j"}
	job.TaskGroups[0].Meta = map[string]string{"group.key": "g"}
	alloc := testAlloc(job)
	alloc.AllocatedResources = &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{Ports: structs.AllocatedPorts{
		{Label: "http", Value: 23456, HostIP: "10.0.0.7"},
	}}}
	env := envMapOf(buildTaskEnv(taskEnvInput{Alloc: alloc, Task: task,
		Node: &structs.Node{ID: "n1", Datacenter: "east", Meta: map[string]string{"rack": "r7"}}}))
	for k, want := range map[string]string{
		"LISTEN": "0.0.0.0:23456", "RACK": "r7", "KEEP": "${nope}",
		"NOMAD_META_owner": "team-east", "NOMAD_META_OWNER": "team-east", "ORCH_META_owner": "team-east",
		"NOMAD_META_shared": "task", "NOMAD_META_from-job": "j", "NOMAD_META_FROM_JOB": "j",
		"NOMAD_META_group.key": "g", "NOMAD_META_GROUP_KEY": "g",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
}

func envMapOf(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// A raw_exec task's args name its port and allocation: the client passes it
// the values, not the references.
func TestAllocRunnerInterpolatesTaskConfig(t *testing.T) {
	task := shellTask("web", "")
	task.Config["args"] = []any{"-c", `echo "$1 $2 $3 $4 $5" > out`, "sh",
		"${NOMAD_PORT_http}", "${NOMAD_ALLOC_ID}", "${node.unique.id}", "${attr.kernel.name}", "${NOMAD_PORT_none}"}
	alloc := testAlloc(testJob(structs.JobTypeBatch, nil, task))
	alloc.AllocatedResources = &structs.AllocatedResources{
		Tasks:  map[string]*structs.Resources{"web": {CPU: 100, MemoryMB: 64}},
		Shared: structs.AllocatedSharedResources{Ports: structs.AllocatedPorts{{Label: "http", Value: 24007, HostIP: "127.0.0.1"}}},
	}
	ar, rec, allocsDir := newTestAllocRunner(t, alloc.Copy(), func(c *Config) {
		c.Node.Attributes = map[string]string{"kernel.name": "linux"}
	})
	ar.Run()
	waitStatus(t, rec, structs.AllocClientStatusComplete)
	b, err := os.ReadFile(filepath.Join(allocsDir, alloc.ID, "web", "out"))
	if want := "24007 " + alloc.ID + " node-1 linux ${NOMAD_PORT_none}\n"; err != nil || string(b) != want {
		t.Fatalf("task saw %q (%v), want %q", b, err, want)
	}
}
