package jobspec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const typedVars = `
variable "count" {
  type    = number
  default = 1
}
variable "on" {
  type    = bool
  default = false
}
variable "dcs" {
  type    = list(string)
  default = ["dc1"]
}
variable "labels" {
  type    = map(string)
  default = {}
}
variable "name" {
  type    = string
  default = "default"
}
variable "untyped" { default = "u" }
`

// varsJob is typedVars plus a job exposing every variable in its config.
const varsJob = typedVars + `
job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        count   = var.count
        on      = var.on
        dcs     = var.dcs
        labels  = var.labels
        name    = var.name
        untyped = var.untyped
      }
    }
  }
}`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVariableValues(t *testing.T) {
	defaults := map[string]any{"count": 1, "on": false, "dcs": []any{"dc1"}, "labels": map[string]any{}, "name": "default", "untyped": "u"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range defaults {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	varFile := writeFile(t, "vars.hcl", "count = 7\nname = \"from file\"\nlabels = { a = \"b\" }\n")
	varFile2 := writeFile(t, "vars2.hcl", "name = \"from file 2\"\n")

	for _, tc := range []struct {
		name string
		opts Options
		want map[string]any
	}{
		{"defaults", Options{}, defaults},
		{"-var parses per type", Options{Vars: []string{
			"count=5", "on=true", `dcs=["a", "b"]`, `labels={x = "y"}`, "name=a b=c", "untyped=5",
		}}, with("count", 5, "on", true, "dcs", []any{"a", "b"}, "labels", map[string]any{"x": "y"}, "name", "a b=c", "untyped", "5")},
		{"later -var wins", Options{Vars: []string{"count=2", "count=3"}}, with("count", 3)},
		{"-var-file", Options{VarFiles: []string{varFile}}, with("count", 7, "name", "from file", "labels", map[string]any{"a": "b"})},
		{"later -var-file wins", Options{VarFiles: []string{varFile, varFile2}}, with("count", 7, "name", "from file 2", "labels", map[string]any{"a": "b"})},
		{"environment", Options{Env: []string{"ORCH_VAR_count=9", "ORCH_VAR_undeclared=1", "PATH=/bin", "ORCH_VAR_name=env", `NOMAD_VAR_dcs=["x"]`}},
			with("count", 9, "name", "env", "dcs", []any{"x"})},
		{"ORCH_VAR_ wins over NOMAD_VAR_ in any order", Options{Env: []string{"ORCH_VAR_count=9", "NOMAD_VAR_count=8", "NOMAD_VAR_name=nomad"}},
			with("count", 9, "name", "nomad")},
		{"-var wins over the environment", Options{Env: []string{"ORCH_VAR_count=9", "NOMAD_VAR_name=nomad"}, Vars: []string{"count=4", "name=flag"}},
			with("count", 4, "name", "flag")},
		{"precedence: env < file < -var", Options{
			Env: []string{"ORCH_VAR_count=9", "ORCH_VAR_on=true"}, VarFiles: []string{varFile}, Vars: []string{"name=flag"},
		}, with("count", 7, "on", true, "name", "flag", "labels", map[string]any{"a": "b"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job, err := Parse("job.hcl", []byte(varsJob), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := job.TaskGroups[0].Tasks[0].Config; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("config\n got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestVariableErrors(t *testing.T) {
	badFile := writeFile(t, "bad.hcl", "count = \"many\"\nnope = 1\n")
	for _, tc := range []struct {
		name string
		src  string
		opts Options
		want string
	}{
		{"bad -var number", varsJob, Options{Vars: []string{"count=abc"}},
			`job.hcl:2:1: invalid value for variable "count" from -var "count=abc"; a number is required`},
		{"bad -var bool", varsJob, Options{Vars: []string{"on=yes"}},
			`job.hcl:6:1: invalid value for variable "on" from -var "on=yes"; a bool is required`},
		{"bad -var list syntax", varsJob, Options{Vars: []string{`dcs=["a",`}},
			`<value for var.dcs>:1:6: Missing expression; Expected the start of an expression, but found the end of the file.`},
		{"bad -var list element", varsJob, Options{Vars: []string{`dcs=[["a"]]`}},
			`job.hcl:10:1: invalid value for variable "dcs" from -var "dcs=[[\"a\"]]"; element 0: string required, but have tuple`},
		{"bad -var object field", `variable "o" {
  type = object({ a = list(number) })
}
job "j" {
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`, Options{Vars: []string{`o={ a = ["x"] }`}},
			`job.hcl:1:1: invalid value for variable "o" from -var "o={ a = [\"x\"] }"; a[0]: a number is required`},
		{"-var without =", varsJob, Options{Vars: []string{"count"}}, `invalid -var "count"; expected NAME=VALUE`},
		{"-var undeclared", varsJob, Options{Vars: []string{"cnt=1"}}, `-var "cnt=1": variable "cnt" is not declared in the job file`},
		{"bad env value", varsJob, Options{Env: []string{"ORCH_VAR_count=x"}},
			`job.hcl:2:1: invalid value for variable "count" from environment variable ORCH_VAR_count; a number is required`},
		{"bad NOMAD_VAR_ value", varsJob, Options{Env: []string{"NOMAD_VAR_on=yes"}},
			`job.hcl:6:1: invalid value for variable "on" from environment variable NOMAD_VAR_on; a bool is required`},
		{"bad env list", varsJob, Options{Env: []string{"ORCH_VAR_dcs=[1"}},
			`<environment variable ORCH_VAR_dcs>:1:1: Unterminated tuple constructor expression; There is no corresponding closing bracket before the end of the file. This may be caused by incorrect bracket nesting elsewhere in this file.`},
		{"bad -var-file", varsJob, Options{VarFiles: []string{badFile}},
			badFile + `:1:9: invalid value for variable "count" from -var-file ` + badFile + `; a number is required
` + badFile + `:2:1: variable "nope" is not declared in the job file`},
		{"missing -var-file", varsJob, Options{VarFiles: []string{"/nonexistent/vars.hcl"}},
			`Failed to read file; The configuration file "/nonexistent/vars.hcl" could not be read.`},
		{"no value", `variable "image" {
  type = string
}
job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { image = var.image }
    }
  }
}`, Options{},
			`job.hcl:1:1: variable "image" has no value; it has no default: set it with -var image=VALUE, a -var-file or ORCH_VAR_image`},
		{"default of the wrong type", `variable "n" {
  type    = number
  default = "ten"
}
job "j" {
  group "g" {
    count = var.n
    task "t" { driver = "raw_exec" }
  }
}`, Options{},
			`job.hcl:3:13: invalid value for variable "n" from its default; a number is required`},
		{"bad declarations", `variable "a" { type = strin }
variable "b" {}
variable "b" { default = 1 }
variable "c" {
  default = 1
  validation {
    condition = true
  }
}
variable "d" { default = var.a }
job "j" {
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`, Options{Vars: []string{"a=1", "b=2"}},
			`job.hcl:1:23: Invalid type specification; The keyword "strin" is not a valid type specification.
job.hcl:3:1: variable "b" is declared twice; first at job.hcl:2:1
job.hcl:6:3: block "validation" is not supported yet
job.hcl:10:26: Variables not allowed; Variables may not be used here.`},
		{"a failed variable is reported once", `variable "n" { type = number }
job "j" {
  group "g" {
    count = var.n
    task "t" {
      driver = "raw_exec"
      env { N = "${var.n + 1}" }
    }
  }
}`, Options{Vars: []string{"n=x"}},
			`job.hcl:1:1: invalid value for variable "n" from -var "n=x"; a number is required`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("job.hcl", []byte(tc.src), tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Fatalf("error:\n%s\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestLocals(t *testing.T) {
	src := `variable "env" { default = "prod" }
locals {
  name = "${local.prefix}-${var.env}"
}
locals {
  prefix = upper(local.base)
  base   = "web"
  all    = local
}
job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        name = local.name
        n    = length(local.all)
      }
    }
  }
}`
	job, err := Parse("job.hcl", []byte(src), Options{Vars: []string{"env=dev"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := job.TaskGroups[0].Tasks[0].Config, (map[string]any{"name": "WEB-dev", "n": 3}); !reflect.DeepEqual(got, want) {
		t.Fatalf("config %#v, want %#v", got, want)
	}

	bad := `locals {
  a = local.b
  b = local.a
  c = 1
}
locals {
  c = 2
  d = local.c + local.nope
}
job "j" {
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`
	_, err = Parse("job.hcl", []byte(bad), Options{})
	want := strings.Join([]string{
		`job.hcl:2:3: local value "a" depends on itself, through other locals`,
		`job.hcl:3:3: local value "b" depends on itself, through other locals`,
		`job.hcl:7:3: local value "c" is defined twice; first at job.hcl:4:3`,
		`job.hcl:8:17: reference to undeclared local value "nope"; declare it in a locals block`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}
