package jobspec

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// canonical canonicalizes j, so that expected jobs only spell out what the
// file sets (Canonicalize has its own tests in structs).
func canonical(j *structs.Job) *structs.Job {
	j.Canonicalize()
	return j
}

// task1 is a job with one group "g" of count 1 holding the given tasks.
func task1(jobType structs.JobType, tasks ...*structs.Task) *structs.Job {
	return &structs.Job{ID: "j", Type: jobType, TaskGroups: []*structs.TaskGroup{{Name: "g", Count: 1, Tasks: tasks}}}
}

func rawExec(name string) *structs.Task { return &structs.Task{Name: name, Driver: "raw_exec"} }

func TestParseGoodFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		opts Options
		want *structs.Job
	}{
		{
			name: "minimal",
			src:  "job \"j\" {\n  group \"g\" {\n    task \"t\" { driver = \"raw_exec\" }\n  }\n}\n",
			want: task1("", rawExec("t")),
		},
		{
			name: "everything supported",
			src: `
variable "port" {
  type        = number
  default     = 8080
  description = "port to listen on"
}
variable "name" { default = "world" }
locals { greeting = "hello ${var.name}" }

job "web" {
  type        = "service"
  datacenters = ["dc1", "eu-*"]
  priority    = 70
  region      = "eu"
  namespace   = "prod"
  meta { owner = "team-a" }
  constraint {
    attribute = "${attr.kernel.name}"
    operator  = "="
    value     = "linux"
  }
  group "web" {
    count = 3
    restart {
      attempts = 5
      interval = "10m"
      delay    = "20s"
      mode     = "delay"
    }
    ephemeral_disk { size = 500 }
    meta { tier = "front" }
    constraint {
      attribute = "${node.datacenter}"
      operator  = "!="
      value     = "dc2"
    }
    task "server" {
      driver = "raw_exec"
      user   = "nobody"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo ${local.greeting} on ${var.port}"]
      }
      env {
        PORT     = "${var.port}"
        GREETING = local.greeting
      }
      meta { version = "1.2" }
      resources {
        cpu    = 250
        memory = 128
      }
      kill_timeout = "30s"
      kill_signal  = "SIGTERM"
      logs {
        max_files     = 3
        max_file_size = 5
      }
      constraint {
        attribute = "${meta.rack}"
        value     = "r1"
      }
    }
  }
}`,
			want: &structs.Job{
				ID: "web", Name: "web", Type: structs.JobTypeService, Datacenters: []string{"dc1", "eu-*"},
				Priority: 70, Region: "eu", Namespace: "prod", Meta: map[string]string{"owner": "team-a"},
				Constraints: []*structs.Constraint{{LTarget: "${attr.kernel.name}", Operand: "=", RTarget: "linux"}},
				TaskGroups: []*structs.TaskGroup{{
					Name: "web", Count: 3,
					RestartPolicy: &structs.RestartPolicy{Attempts: 5, Interval: 10 * time.Minute, Delay: 20 * time.Second, Mode: "delay"},
					EphemeralDisk: &structs.EphemeralDisk{SizeMB: 500},
					Meta:          map[string]string{"tier": "front"},
					Constraints:   []*structs.Constraint{{LTarget: "${node.datacenter}", Operand: "!=", RTarget: "dc2"}},
					Tasks: []*structs.Task{{
						Name: "server", Driver: "raw_exec", User: "nobody",
						Config:      map[string]any{"command": "/bin/sh", "args": []any{"-c", "echo hello world on 8080"}},
						Env:         map[string]string{"PORT": "8080", "GREETING": "hello world"},
						Meta:        map[string]string{"version": "1.2"},
						Resources:   &structs.Resources{CPU: 250, MemoryMB: 128},
						KillTimeout: 30 * time.Second, KillSignal: "SIGTERM",
						LogConfig:   &structs.LogConfig{MaxFiles: 3, MaxFileSizeMB: 5},
						Constraints: []*structs.Constraint{{LTarget: "${meta.rack}", Operand: "=", RTarget: "r1"}},
					}},
				}},
			},
		},
		{
			name: "explicit count zero is kept, null count is the default",
			src: `job "j" {
  group "a" {
    count = 0
    task "t" { driver = "raw_exec" }
  }
  group "b" {
    count = null
    task "t" { driver = "raw_exec" }
  }
}`,
			want: &structs.Job{ID: "j", TaskGroups: []*structs.TaskGroup{
				{Name: "a", Count: 0, Tasks: []*structs.Task{rawExec("t")}},
				{Name: "b", Count: 1, Tasks: []*structs.Task{rawExec("t")}},
			}},
		},
		{
			name: "partial restart block takes the batch defaults for the rest",
			src: `job "j" {
  type = "batch"
  group "g" {
    restart { attempts = 0 }
    task "t" { driver = "raw_exec" }
  }
}`,
			want: func() *structs.Job {
				j := task1(structs.JobTypeBatch, rawExec("t"))
				j.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 0, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: "fail"}
				return j
			}(),
		},
		{
			name: "system job",
			src:  "job \"j\" {\n  type = \"system\"\n  group \"g\" {\n    task \"t\" { driver = \"raw_exec\" }\n  }\n}\n",
			want: task1(structs.JobTypeSystem, rawExec("t")),
		},
		{
			name: "sysbatch job takes the batch restart defaults",
			src: `job "j" {
  type = "sysbatch"
  group "g" {
    restart { attempts = 1 }
    task "t" { driver = "raw_exec" }
  }
}`,
			want: func() *structs.Job {
				j := task1(structs.JobTypeSysBatch, rawExec("t"))
				j.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 1, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: "fail"}
				return j
			}(),
		},
		{
			name: "partial restart block takes the service defaults for the rest",
			src: `job "j" {
  group "g" {
    restart { mode = "delay" }
    task "t" { driver = "raw_exec" }
  }
}`,
			want: func() *structs.Job {
				j := task1("", rawExec("t"))
				j.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: "delay"}
				return j
			}(),
		},
		{
			name: "empty ephemeral_disk and resources blocks get defaults",
			src: `job "j" {
  group "g" {
    ephemeral_disk {}
    task "t" {
      driver = "raw_exec"
      resources { memory = 64 }
    }
  }
}`,
			want: func() *structs.Job {
				t := rawExec("t")
				t.Resources = &structs.Resources{CPU: 100, MemoryMB: 64}
				j := task1("", t)
				j.TaskGroups[0].EphemeralDisk = &structs.EphemeralDisk{SizeMB: 300}
				return j
			}(),
		},
		{
			name: "meta and env as arguments",
			src: `job "j" {
  meta = { "team.name" = "a", n = 3 }
  group "g" {
    meta = {}
    task "t" {
      driver = "raw_exec"
      env    = { PORT = 8080, DEBUG = true, "my.var" = "x" }
    }
  }
}`,
			want: func() *structs.Job {
				t := rawExec("t")
				t.Env = map[string]string{"PORT": "8080", "DEBUG": "true", "my.var": "x"}
				j := task1("", t)
				j.Meta = map[string]string{"team.name": "a", "n": "3"}
				j.TaskGroups[0].Meta = map[string]string{}
				return j
			}(),
		},
		{
			name: "every constraint operator and Nomad's shorthands",
			src: `job "j" {
  node_pool = "gpu"
  constraint {
    attribute = "${attr.cpu.numcores}"
    operator  = ">="
    value     = 4
  }
  constraint {
    attribute = "${attr.kernel.version}"
    version   = ">= 5.4, < 6"
  }
  constraint {
    attribute = "${attr.app}"
    semver    = ">= 1.2.0"
  }
  constraint {
    attribute = "${attr.kernel.name}"
    regexp    = "^lin"
  }
  constraint {
    attribute    = "${meta.tags}"
    set_contains = "ssd,gpu"
  }
  constraint {
    attribute = "${meta.tags}"
    operator  = "set_contains_any"
    value     = "ssd,gpu"
  }
  constraint {
    attribute = "${meta.gpu}"
    operator  = "is_not_set"
  }
  constraint { distinct_hosts = true }
  constraint {
    operator = "distinct_hosts"
    value    = "true"
  }
  constraint {
    distinct_property = "${meta.rack}"
    value             = 2
  }
  constraint {
    attribute = "${meta.zone}"
    operator  = "distinct_property"
  }
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`,
			want: func() *structs.Job {
				j := task1("", rawExec("t"))
				j.NodePool = "gpu"
				j.Constraints = []*structs.Constraint{
					{LTarget: "${attr.cpu.numcores}", Operand: ">=", RTarget: "4"},
					{LTarget: "${attr.kernel.version}", Operand: "version", RTarget: ">= 5.4, < 6"},
					{LTarget: "${attr.app}", Operand: "semver", RTarget: ">= 1.2.0"},
					{LTarget: "${attr.kernel.name}", Operand: "regexp", RTarget: "^lin"},
					{LTarget: "${meta.tags}", Operand: "set_contains", RTarget: "ssd,gpu"},
					{LTarget: "${meta.tags}", Operand: "set_contains_any", RTarget: "ssd,gpu"},
					{LTarget: "${meta.gpu}", Operand: "is_not_set"},
					{Operand: "distinct_hosts", RTarget: "true"},
					{Operand: "distinct_hosts", RTarget: "true"},
					{LTarget: "${meta.rack}", Operand: "distinct_property", RTarget: "2"},
					{LTarget: "${meta.zone}", Operand: "distinct_property"},
				}
				return j
			}(),
		},
		{
			name: "constraint operators are normalized",
			src: `job "j" {
  constraint {
    attribute = "a"
    operator  = "=="
    value     = "1"
  }
  constraint {
    attribute = "b"
    operator  = "is"
    value     = 2
  }
  constraint {
    attribute = "c"
    operator  = "not"
    value     = "3"
  }
  constraint { attribute = "d" }
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`,
			want: func() *structs.Job {
				j := task1("", rawExec("t"))
				j.Constraints = []*structs.Constraint{
					{LTarget: "a", Operand: "=", RTarget: "1"}, {LTarget: "b", Operand: "=", RTarget: "2"},
					{LTarget: "c", Operand: "!=", RTarget: "3"}, {LTarget: "d", Operand: "="},
				}
				return j
			}(),
		},
		{
			name: "config values of every kind",
			src: `job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/echo"
        count   = 3
        ratio   = 0.5
        big     = 1e20
        on      = true
        nothing = null
        args    = ["a", 1, false]
        opts    = { a = "b", nested = { c = [1, 2] } }
        script  = <<-EOT
          echo one
          echo ${NOMAD_TASK_NAME}
        EOT
      }
    }
  }
}`,
			want: task1("", func() *structs.Task {
				t := rawExec("t")
				t.Config = map[string]any{
					"command": "/bin/echo", "count": 3, "ratio": 0.5, "big": 1e20, "on": true, "nothing": nil,
					"args":   []any{"a", 1, false},
					"opts":   map[string]any{"a": "b", "nested": map[string]any{"c": []any{1, 2}}},
					"script": "echo one\necho ${NOMAD_TASK_NAME}\n",
				}
				return t
			}()),
		},
		{
			name: "group network with dynamic, static and mapped ports",
			src: `job "j" {
  group "g" {
    network {
      mode = "host"
      port "http" {}
      port "db" { static = 5432 }
      port "x" { to = 8080 }
      port "y" {
        static = 9000
        to     = 90
      }
    }
    task "t" { driver = "raw_exec" }
  }
}`,
			want: func() *structs.Job {
				j := task1("", rawExec("t"))
				j.TaskGroups[0].Networks = []*structs.NetworkResource{{
					Mode:          "host",
					ReservedPorts: []structs.Port{{Label: "db", Value: 5432}, {Label: "y", Value: 9000, To: 90}},
					DynamicPorts:  []structs.Port{{Label: "http"}, {Label: "x", To: 8080}},
				}}
				return j
			}(),
		},
		{
			name: "all_at_once",
			src:  "job \"j\" {\n  all_at_once = true\n  group \"g\" {\n    task \"t\" { driver = \"raw_exec\" }\n  }\n}\n",
			want: func() *structs.Job {
				j := task1("", rawExec("t"))
				j.AllAtOnce = true
				return j
			}(),
		},
		{
			name: "network mode defaults to host",
			src:  "job \"j\" {\n  group \"g\" {\n    network {}\n    task \"t\" { driver = \"raw_exec\" }\n  }\n}\n",
			want: func() *structs.Job {
				j := task1("", rawExec("t"))
				j.TaskGroups[0].Networks = []*structs.NetworkResource{{Mode: "host"}}
				return j
			}(),
		},
		{
			name: "functions",
			src: `variable "tags" {
  type    = list(string)
  default = ["b", "a"]
}
locals {
  base = { A = "1" }
}
job "j" {
  datacenters = concat(["dc1"], [for t in sort(var.tags) : "dc-${t}"])
  priority    = max(10, length("abc") * 10)
  group "g" {
    count = length(var.tags) + 1
    task "t" {
      driver = lower("RAW_EXEC")
      env    = merge(local.base, { B = format("%s-%03d", upper("x"), 7), C = join(",", var.tags) })
      config {
        json = jsonencode({ k = "v" })
        key  = lookup({ a = "1" }, "b", "fallback")
        trim = trimspace("  x  ")
        safe = try(var.tags[5], "none")
      }
    }
  }
}`,
			want: func() *structs.Job {
				t := rawExec("t")
				t.Env = map[string]string{"A": "1", "B": "X-007", "C": "b,a"}
				t.Config = map[string]any{"json": `{"k":"v"}`, "key": "fallback", "trim": "x", "safe": "none"}
				j := task1("", t)
				j.Datacenters = []string{"dc1", "dc-a", "dc-b"}
				j.Priority = 30
				j.TaskGroups[0].Count = 3
				return j
			}(),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("job.hcl", []byte(tc.src), tc.opts)
			if err != nil {
				t.Fatalf("unexpected error:\n%v", err)
			}
			want := canonical(tc.want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("job:\n got %s\nwant %s", dump(got), dump(want))
			}
		})
	}
}

func dump(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestParseBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		opts Options
		want string // the whole Error() text
	}{
		{
			name: "syntax error",
			src:  "job \"j\" {\n  group \"g\" {\n",
			want: `job.hcl:2:13: Unclosed configuration block; There is no closing brace for this block before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.`,
		},
		{
			name: "no job",
			src:  `locals { a = 1 }`,
			want: `job.hcl:1:1: no job block; a job file declares exactly one job "<name>" { ... } block`,
		},
		{
			name: "two jobs",
			src:  "job \"a\" {\n  group \"g\" {\n    task \"t\" { driver = \"raw_exec\" }\n  }\n}\njob \"b\" {}\n",
			want: `job.hcl:6:1: only one job block is allowed per file; the first is at job.hcl:1:1`,
		},
		{
			name: "unknown block and argument",
			src: `job "j" {
  group "g" {
    foo {}
    task "t" {
      driver = "raw_exec"
      bar    = 1
    }
  }
}`,
			want: `job.hcl:3:5: Unsupported block type; Blocks of type "foo" are not expected here.
job.hcl:6:7: Unsupported argument; An argument named "bar" is not expected here.`,
		},
		{
			name: "not supported yet",
			src: `job "j" {
  vault_token = "x"
  multiregion {}
  group "g" {
    network {
      port "http" { host_network = "public" }
    }
    volume "data" { type = "host" }
    task "t" {
      driver = "raw_exec"
      vault { policies = ["x"] }
      artifact { source = "x" }
      leader = true
      resources {
        cpu        = 100
        iops       = 512
      }
    }
    ephemeral_disk { sticky = true }
  }
}`,
			want: `job.hcl:2:3: argument "vault_token" is not supported yet
job.hcl:3:3: block "multiregion" is not supported yet
job.hcl:6:21: argument "host_network" is not supported yet
job.hcl:8:5: block "volume" is not supported yet
job.hcl:11:7: block "vault" is not supported yet
job.hcl:12:7: block "artifact" is not supported yet
job.hcl:13:7: argument "leader" is not supported yet
job.hcl:16:9: argument "iops" is not supported yet
job.hcl:19:22: argument "sticky" is not supported yet`,
		},
		{
			name: "bad values",
			src: `job "j" {
  priority    = "high"
  datacenters = "dc1"
  group "g" {
    count = 1.5
    restart {
      interval = "30x"
      delay    = 15
      attempts = 99999999999
    }
    task "t" {
      driver       = ["raw_exec"]
      kill_timeout = "soon"
      env          = { A = null }
    }
  }
  group "h" {
    meta = { a = "b", c = null }
    task "t" {
      driver = "raw_exec"
    }
  }
  constraint {
    attribute = ["a", null]
  }
}`,
			want: `job.hcl:2:17: invalid value for "priority"; a number is required
job.hcl:3:17: invalid value for "datacenters"; list of string required, but have string
job.hcl:5:13: invalid value for "count"; a whole number is required, got 1.5
job.hcl:7:18: invalid value for "interval"; "30x" is not a duration: write a number and a unit, such as "15s", "30m" or "1h"
job.hcl:8:18: invalid value for "delay"; "15" is not a duration: write a number and a unit, such as "15s", "30m" or "1h"
job.hcl:9:18: invalid value for "attempts"; 99999999999 is out of range
job.hcl:12:22: invalid value for "driver"; string required, but have tuple
job.hcl:13:22: invalid value for "kill_timeout"; "soon" is not a duration: write a number and a unit, such as "15s", "30m" or "1h"
job.hcl:14:22: invalid value for "env"; "A" is null
job.hcl:18:12: invalid value for "meta"; "c" is null
job.hcl:24:17: invalid value for "attribute"; string required, but have tuple`,
		},
		{
			name: "constraint operators and values are checked",
			src: `job "j" {
  constraint {
    attribute = "a"
    operator  = "~="
  }
  constraint {
    attribute = "${attr.cpu.arch}"
    operator  = "regexp"
    value     = "amd("
  }
  constraint { distinct_hosts = "maybe" }
  group "g" {
    constraint {
      attribute = "${attr.kernel.version}"
      version   = ">= banana"
    }
    constraint {
      attribute = "${meta.x}"
      operator  = "is_set"
      value     = "y"
    }
    task "t" {
      driver = "raw_exec"
      constraint {
        distinct_property = "${meta.rack}"
        value             = "0"
      }
      constraint { operator = "set_contains" }
    }
  }
}`,
			want: `job.hcl:4:17: invalid value for "operator"; unknown operator "~="; use one of "=", "==", "is", "!=", "not", "<", "<=", ">", ">=", "regexp", "version", "semver", "set_contains", "set_contains_all", "set_contains_any", "is_set", "is_not_set", "distinct_hosts", "distinct_property"
job.hcl:11:33: invalid value for "distinct_hosts"; a bool is required`,
		},
		{
			name: "constraint values are validated where they are written",
			src: `job "j" {
  constraint {
    attribute = "${attr.cpu.arch}"
    operator  = "regexp"
    value     = "amd("
  }
  group "g" {
    constraint {
      attribute = "${attr.kernel.version}"
      version   = ">= banana"
    }
    constraint {
      attribute = "${meta.x}"
      operator  = "is_set"
      value     = "y"
    }
    task "t" {
      driver = "raw_exec"
      constraint {
        distinct_property = "${meta.rack}"
        value             = "0"
      }
      constraint { operator = "set_contains" }
    }
  }
}`,
			want: "job.hcl:5:5: constraint[0].value = \"amd(\": must be a valid regular expression: error parsing regexp: missing closing ): `amd(`\n" +
				`job.hcl:10:7: group "g": constraint[0].value = ">= banana": must be a version constraint such as ">= 1.2, < 2.0": malformed constraint: >= banana
job.hcl:15:7: group "g": constraint[1].value = "y": must not be set for operator "is_set"
job.hcl:21:9: group "g": task "t": constraint[0].value = "0": must be a positive integer (allocations allowed per property value) for distinct_property
job.hcl:23:7: group "g": task "t": constraint[1].attribute = "": must not be empty
job.hcl:23:7: group "g": task "t": constraint[1].value = "": must be set for operator "set_contains"`,
		},
		{
			name: "lifecycle hook and sidecar",
			src: `job "j" {
  group "g" {
    task "init" {
      driver = "raw_exec"
      lifecycle {
        hook = "prestrat"
      }
    }
    task "cleanup" {
      driver = "raw_exec"
      lifecycle {
        hook    = "poststop"
        sidecar = true
      }
    }
  }
}`,
			want: `job.hcl:6:9: group "g": task "init": lifecycle.hook = "prestrat": must be "prestart", "poststart" or "poststop"
job.hcl:13:9: group "g": task "cleanup": lifecycle.sidecar = true: a poststop task cannot be a sidecar`,
		},
		{
			name: "duplicates",
			src: `job "j" {
  meta { a = "1" }
  meta = { b = "2" }
  group "g" {
    restart { attempts = 1 }
    restart { attempts = 2 }
    task "t" {
      driver = "raw_exec"
      config { command = "a" }
      config { command = "b" }
    }
  }
}`,
			want: `job.hcl:2:3: "meta" is set twice: as a block here and as an argument at job.hcl:3:3
job.hcl:6:5: duplicate "restart" block: only one is allowed here, the first is at job.hcl:5:5
job.hcl:10:7: duplicate "config" block: only one is allowed here, the first is at job.hcl:9:7`,
		},
		{
			name: "validation problems point at the attribute",
			src: `job "j" {
  type        = "daemon"
  datacenters = ["dc1", ""]
  group "web" {
    count = -1
    ephemeral_disk { size = 5 }
    restart { mode = "never" }
    task "server" {
      driver = "raw_exec"
      resources {
        cpu    = 100
        memory = 5
      }
      kill_timeout = "-1s"
      logs { max_files = 0 }
    }
  }
}`,
			want: `job.hcl:2:3: type = "daemon": must be "service", "batch", "system" or "sysbatch"
job.hcl:3:3: datacenters[1] = "": must not be empty
job.hcl:5:5: group "web": count = -1: must be >= 0
job.hcl:6:22: group "web": ephemeral_disk.size = 5: must be >= 10 (MB)
job.hcl:7:15: group "web": restart.mode = "never": must be "fail" or "delay"
job.hcl:12:9: group "web": task "server": resources.memory = 5: must be >= 10 (MB)
job.hcl:14:7: group "web": task "server": kill_timeout = "-1s": must be >= 0
job.hcl:15:14: group "web": task "server": logs.max_files = 0: must be >= 1`,
		},
		{
			name: "cores with cpu, memory_max below memory",
			src: `job "j" {
  group "web" {
    task "server" {
      driver = "exec"
      resources {
        cpu        = 100
        cores      = 2
        memory     = 256
        memory_max = 128
      }
    }
  }
}`,
			want: `job.hcl:7:9: group "web": task "server": resources.cores = 2: cannot be used with resources.cpu (= 100): a task asks for cpu (MHz) or for cores, not both
job.hcl:9:9: group "web": task "server": resources.memory_max = 128: must be >= resources.memory (256 MB): it is the most the task may use, memory what it is guaranteed`,
		},
		{
			name: "validation problems point at the block",
			src: `job "my job" {
  group "g" {
    task "t" { driver = "raw_exec" }
    task "t" {}
  }
  group "g" {
    task "u" {
      driver = ""
    }
  }
  group "empty" {}
}`,
			want: `job.hcl:1:5: id = "my job": must not contain spaces
job.hcl:4:5: group "g": task "t": another task of the group has the same name
job.hcl:4:5: group "g": task "t": driver = "": must not be empty
job.hcl:6:3: group "g": another group of the job has the same name
job.hcl:8:7: group "g": task "u": driver = "": must not be empty
job.hcl:11:3: group "empty": task: a group needs at least one task`,
		},
		{
			name: "network problems",
			src: `job "j" {
  group "a" {
    network { mode = "bridge" }
    network {}
    task "t" {
      driver = "raw_exec"
      resources {
        network { mbits = 10 }
      }
    }
  }
  group "b" {
    network {
      mode = "weird"
      dns { servers = ["1.1.1.1"] }
      port "p" { static = "x" }
    }
    task "t" { driver = "raw_exec" }
  }
}`,
			want: `job.hcl:3:22: invalid value for "mode"; mode "bridge" is not supported yet; use "host"
job.hcl:4:5: duplicate "network" block: only one is allowed here, the first is at job.hcl:3:5
job.hcl:8:9: block "network" is not supported yet
job.hcl:14:14: invalid value for "mode"; unknown mode "weird"; use "host"
job.hcl:15:7: block "dns" is not supported yet
job.hcl:16:27: invalid value for "static"; a number is required`,
		},
		{
			name: "network validation points at the port",
			src: `job "j" {
  group "g" {
    network {
      port "a" { static = 80 }
      port "b" { static = 80 }
      port "c" { static = 70000 }
      port "a" {}
      port "9x" { to = -2 }
    }
    task "t" { driver = "raw_exec" }
  }
}`,
			want: `job.hcl:5:18: group "g": network.port["b"].static = 80: port "a" of the group has the same static port
job.hcl:6:18: group "g": network.port["c"].static = 70000: must be between 1 and 65535
job.hcl:7:12: group "g": network.port["a"]: another port of the group has the same label
job.hcl:8:12: group "g": network.port["9x"]: label must be letters, digits, underscores and dashes, starting with a letter or underscore
job.hcl:8:19: group "g": network.port["9x"].to = -2: must be between -1 (the host port) and 65535`,
		},
		{
			name: "job without groups",
			src:  `job "j" {}`,
			want: `job.hcl:1:1: group: a job needs at least one group`,
		},
		{
			name: "undeclared references",
			src: `variable "name" { default = "x" }
job "j" {
  group "g" {
    task "t" {
      driver = var.nmae
      env { A = local.missing }
    }
  }
}`,
			want: `job.hcl:5:16: reference to undeclared variable "nmae"; declare it in a variable block
job.hcl:6:17: reference to undeclared local value "missing"; declare it in a locals block`,
		},
		{
			name: "function error",
			src: `job "j" {
  group "g" {
    task "t" { driver = upper(1, 2) }
  }
}`,
			want: `job.hcl:3:34: Too many function arguments; Function "upper" expects only 1 argument(s).`,
		},
		{
			name: "unknown function",
			src: `job "j" {
  group "g" {
    task "t" { driver = file("x") }
  }
}`,
			want: `job.hcl:3:25: Call to unknown function; There is no function named "file". Did you mean "title"?`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job, err := Parse("job.hcl", []byte(tc.src), tc.opts)
			if err == nil {
				t.Fatalf("no error; job %s", dump(job))
			}
			if job != nil {
				t.Fatal("a job came back with the error")
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("%T is not an *Error: %v", err, err)
			}
			if got := err.Error(); got != tc.want {
				t.Fatalf("error:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
