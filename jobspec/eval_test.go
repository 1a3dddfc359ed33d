package jobspec

import (
	"reflect"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// configValue parses a job whose only task has `config { v = <expr> }`, with
// the given HCL before the job block, and returns config["v"].
func configValue(t *testing.T, preamble, expr string, opts Options) any {
	t.Helper()
	src := preamble + "\njob \"j\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \"raw_exec\"\n      config {\n        v = " + expr + "\n      }\n    }\n  }\n}\n"
	job, err := Parse("job.hcl", []byte(src), opts)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return job.TaskGroups[0].Tasks[0].Config["v"]
}

func TestRuntimeInterpolationsSurvive(t *testing.T) {
	const vars = `
variable "x" { default = "X" }
variable "flag" { default = true }
locals {
  kernel = "${attr.kernel.name}"
}`
	for _, tc := range []struct {
		expr string
		want any
	}{
		{`"${attr.kernel.name}"`, "${attr.kernel.name}"},
		{`"os-${attr.kernel.name}-x"`, "os-${attr.kernel.name}-x"},
		{`"${ attr.kernel.name }"`, "${attr.kernel.name}"},
		{`"${node.unique.name}/${node.datacenter}/${node.class}"`, "${node.unique.name}/${node.datacenter}/${node.class}"},
		{`"${meta.rack}"`, "${meta.rack}"},
		{`"${NOMAD_ALLOC_ID} ${ORCH_ALLOC_ID} ${NOMAD_META_owner}"`, "${NOMAD_ALLOC_ID} ${ORCH_ALLOC_ID} ${NOMAD_META_owner}"},
		{`"${env["HOME"]}"`, `${env["HOME"]}`},
		{`"${env.HOME}"`, "${env.HOME}"},
		{`"${attr.unique.network.ip-address}"`, "${attr.unique.network.ip-address}"},
		{`"${attr.a.b}-${attr.a.c}-${attr.d}"`, "${attr.a.b}-${attr.a.c}-${attr.d}"},
		{`"${attr.devices[0]}"`, "${attr.devices[0]}"},
		{`"${NOMAD_ALLOC_ID}/${var.x}"`, "${NOMAD_ALLOC_ID}/X"},
		{`"$${literal} and ${var.x}"`, "${literal} and X"},
		{`attr.kernel.name`, "${attr.kernel.name}"},
		{`["${attr.a}", var.x, NOMAD_TASK_DIR]`, []any{"${attr.a}", "X", "${NOMAD_TASK_DIR}"}},
		{`{ k = "${meta.k}" }`, map[string]any{"k": "${meta.k}"}},
		{`var.flag ? "${node.class}" : "none"`, "${node.class}"},
		{`"%{ if var.flag }${attr.os.name}%{ else }none%{ endif }"`, "${attr.os.name}"},
		{`local.kernel`, "${attr.kernel.name}"},
		{`"x${local.kernel}"`, "x${attr.kernel.name}"},
		{"<<EOT\ncd ${NOMAD_TASK_DIR} && echo ${var.x}\nEOT\n", "cd ${NOMAD_TASK_DIR} && echo X\n"},
		{`upper(var.x)`, "X"},
	} {
		if got := configValue(t, vars, tc.expr, Options{}); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.expr, got, tc.want)
		}
	}
}

func TestRuntimeInterpolationsInConstraintsAndEnv(t *testing.T) {
	src := `job "j" {
  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }
  group "g" {
    constraint {
      attribute = "${meta.rack}"
      operator  = "!="
      value     = "${node.datacenter}"
    }
    task "t" {
      driver = "raw_exec"
      env {
        DIR  = "${NOMAD_TASK_DIR}/bin"
        HOME = "${env["HOME"]}"
      }
    }
  }
}`
	job, err := Parse("job.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := job.Constraints[0]; c.LTarget != "${attr.kernel.name}" || c.RTarget != "linux" {
		t.Errorf("job constraint %+v", c)
	}
	if c := job.TaskGroups[0].Constraints[0]; c.LTarget != "${meta.rack}" || c.RTarget != "${node.datacenter}" || c.Operand != "!=" {
		t.Errorf("group constraint %+v", c)
	}
	if env := job.TaskGroups[0].Tasks[0].Env; env["DIR"] != "${NOMAD_TASK_DIR}/bin" || env["HOME"] != `${env["HOME"]}` {
		t.Errorf("env %q", env)
	}
}

func TestLengthCountsStringsObjectsAndCollections(t *testing.T) {
	for expr, want := range map[string]any{
		`length("héllo")`:          5,
		`length({ a = 1, b = 2 })`: 2,
		`length(["a", "b", "c"])`:  3,
		`length(tomap({ a = 1 }))`: 1,
	} {
		if got := configValue(t, "", expr, Options{}); got != want {
			t.Errorf("%s = %#v, want %v", expr, got, want)
		}
	}
}

func TestRenderTraversal(t *testing.T) {
	for _, src := range []string{`attr.kernel.name`, `env["HOME"]`, `attr.devices[0].name`, `NOMAD_ALLOC_ID`} {
		trav, diags := hclsyntax.ParseTraversalAbs([]byte(src), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if got := renderTraversal(trav); got != src {
			t.Errorf("renderTraversal(%s) = %s", src, got)
		}
	}
}

func TestStringListRejectsNullElements(t *testing.T) {
	src := "job \"j\" {\n  datacenters = [\"dc1\", null]\n  group \"g\" {\n    task \"t\" { driver = \"raw_exec\" }\n  }\n}\n"
	_, err := Parse("job.hcl", []byte(src), Options{})
	if want := `job.hcl:2:17: invalid value for "datacenters"; element 1 is null`; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}
