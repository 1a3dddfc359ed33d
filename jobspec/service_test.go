package jobspec

import (
	"errors"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// A Nomad job file with group and task services, checks of every type and
// templates parses to what it says, with Nomad's defaults.
func TestParseServicesAndTemplates(t *testing.T) {
	src := `job "shop" {
  group "api" {
    network {
      port "http" {}
    }
    service {
      name     = "${NOMAD_JOB_NAME}-api"
      port     = "http"
      tags     = ["v1", "blue"]
      canary_tags = ["canary"]
      provider = "nomad"
      meta { version = "1" }
      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
        header { Authorization = ["Basic x"] }
        success_before_passing   = 2
        failures_before_critical = 3
        check_restart {
          limit = 3
          grace = "30s"
          ignore_warnings = true
        }
      }
      check {
        name     = "alive"
        type     = "tcp"
        interval = "5s"
        on_update = "ignore"
      }
    }
    task "server" {
      driver = "raw_exec"
      service {
        port = 8080
        check {
          type     = "script"
          command  = "/bin/true"
          args     = ["-x"]
          interval = "30s"
        }
      }
      template {
        data        = "{{ range nomadService \"db\" }}{{ .Address }}:{{ .Port }}{{ end }}"
        destination = "local/db.txt"
        change_mode = "signal"
        change_signal = "SIGHUP"
      }
      template {
        data        = "PORT=1"
        destination = "local/env"
        env         = true
        splay       = "0s"
      }
    }
  }
}`
	job, err := Parse("job.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg := job.TaskGroups[0]
	want := []*structs.Service{{
		Name: "${NOMAD_JOB_NAME}-api", PortLabel: "http", Tags: []string{"v1", "blue"}, CanaryTags: []string{"canary"},
		Provider: "nomad", AddressMode: "auto", Meta: map[string]string{"version": "1"},
		Checks: []*structs.ServiceCheck{{
			Name: `service: "shop-api" check`, Type: "http", Path: "/health", Method: "GET", Protocol: "http",
			Interval: 10 * time.Second, Timeout: 2 * time.Second, Header: map[string][]string{"Authorization": {"Basic x"}},
			SuccessBeforePassing: 2, FailuresBeforeCritical: 3, OnUpdate: "require_healthy",
			CheckRestart: &structs.CheckRestart{Limit: 3, Grace: 30 * time.Second, IgnoreWarnings: true},
		}, {
			Name: "alive", Type: "tcp", Interval: 5 * time.Second, Timeout: structs.DefaultCheckTimeout, OnUpdate: "ignore",
		}},
	}}
	if got, w := dump(tg.Services), dump(want); got != w {
		t.Errorf("group services\n%s\nwant\n%s", got, w)
	}
	task := tg.Tasks[0]
	wantTask := []*structs.Service{{
		Name: "${BASE}", TaskName: "server", PortLabel: "8080", Provider: "nomad", AddressMode: "auto",
		Checks: []*structs.ServiceCheck{{
			Name: `service: "shop-api-server" check`, Type: "script", Command: "/bin/true", Args: []string{"-x"},
			TaskName: "server", Interval: 30 * time.Second, Timeout: structs.DefaultCheckTimeout, OnUpdate: "require_healthy",
		}},
	}}
	if got, w := dump(task.Services), dump(wantTask); got != w {
		t.Errorf("task services\n%s\nwant\n%s", got, w)
	}
	if got := task.Services[0].ServiceName(job.Name, tg.Name, task.Name); got != "shop-api-server" {
		t.Errorf("default service name = %q", got)
	}
	wantTmpl := []*structs.Template{{
		EmbeddedTmpl: `{{ range nomadService "db" }}{{ .Address }}:{{ .Port }}{{ end }}`, DestPath: "local/db.txt",
		ChangeMode: "signal", ChangeSignal: "SIGHUP", Splay: structs.DefaultTemplateSplay, Perms: "0644",
		LeftDelim: "{{", RightDelim: "}}",
	}, {
		EmbeddedTmpl: "PORT=1", DestPath: "local/env", ChangeMode: "restart", Perms: "0644",
		LeftDelim: "{{", RightDelim: "}}", Envvars: true,
	}}
	if got, w := dump(task.Templates), dump(wantTmpl); got != w {
		t.Errorf("templates\n%s\nwant\n%s", got, w)
	}
}

func TestParseBadServicesAndTemplates(t *testing.T) {
	group := func(body string) string {
		return `job "j" {
  group "g" {
    network {
      port "http" {}
    }
` + body + `
    task "t" { driver = "raw_exec" }
  }
}`
	}
	for _, tc := range []struct{ name, src, want string }{
		{"unknown port label", group(`    service {
      port = "grpc"
    }`), `job.hcl:7:7: group "g": service[0].port = "grpc": must be the label of a port of the group's network block, or a port number`},
		{"bad interpolated name", group(`    service {
      name = "${NOMAD_JOB_NAME}_api"
    }`), `job.hcl:7:7: group "g": service[0].name = "${NOMAD_JOB_NAME}_api": becomes "j_api": a service name must be letters, digits and dashes, not starting or ending with a dash, at most 63 characters`},
		{"consul provider", group(`    service {
      provider = "consul"
    }`), `job.hcl:7:7: group "g": service[0].provider = "consul": is not supported: orch has no Consul integration; use "nomad", its built-in registry`},
		{"check problems", group(`    service {
      port = "http"
      check {
        type     = "http"
        interval = "100ms"
        on_update = "sometimes"
      }
      check {
        name = "s"
        type = "script"
        interval = "1s"
        command = "x"
      }
    }`), `job.hcl:8:7: group "g": service[0].check[0].path = "": an http check needs a path
job.hcl:10:9: group "g": service[0].check[0].interval = "100ms": must be at least 1s
job.hcl:11:9: group "g": service[0].check[0].on_update = "sometimes": must be "require_healthy", "ignore_warnings" or "ignore"
job.hcl:13:7: group "g": service[0].check[1].task = "": a script check of a group service must name the task it runs in`},
		{"check without a port", group(`    service {
      check {
        type     = "tcp"
        interval = "1s"
      }
    }`), `job.hcl:7:7: group "g": service[0].check[0].port = "": a tcp check needs a port: set one on the check or on its service`},
		{"expose", group(`    service {
      check {
        expose = true
      }
    }`), `job.hcl:8:9: argument "expose" is not supported yet: it exposes the check through a Consul Connect sidecar proxy, and orch has no Connect; point the check at a port of the group's network instead`},
		{"change_script problems", `job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      template {
        data        = "x"
        destination = "local/x"
        change_mode = "script"
      }
      template {
        data        = "y"
        destination = "local/y"
        change_mode = "script"
        change_script {
          args = ["-x"]
        }
      }
      template {
        data        = "z"
        destination = "local/z"
        change_script {
          command = "/bin/true"
        }
      }
    }
  }
}`, `job.hcl:5:7: group "g": task "t": template[0].change_script: change_mode "script" needs a change_script block with a command
job.hcl:14:9: group "g": task "t": template[1].change_script.command = "": must be set
job.hcl:21:9: group "g": task "t": template[2].change_script: is used only with change_mode "script", not "restart"`},
		{"consul key in a template", `job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      template {
        data = "{{ key \"a/b\" }} {{ with secret \"kv/x\" }}{{ end }}"
        destination = "local/x"
      }
    }
  }
}`, `job.hcl:6:9: group "g": task "t": template[0].data: function "key" is not supported (Consul KV)
job.hcl:6:9: group "g": task "t": template[0].data: function "secret" is not supported (Vault)`},
		{"template wait bounds", `job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      template {
        data        = "x"
        destination = "local/x"
        wait {
          min = "10s"
          max = "5s"
        }
      }
    }
  }
}`, `job.hcl:10:11: group "g": task "t": template[0].wait.max = "5s": must be at least wait.min (10s)`},
		{"template without destination or content", `job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      template {
        change_mode = "reload"
      }
    }
  }
}`, `job.hcl:5:7: group "g": task "t": template[0]: needs data or a source
job.hcl:5:7: group "g": task "t": template[0].destination = "": must be set
job.hcl:6:9: group "g": task "t": template[0].change_mode = "reload": must be "restart", "signal", "noop" or "script"`},
	} {
		t.Run(tc.name, func(t *testing.T) { wantParseError(t, tc.src, tc.want) })
	}
}

// A grpc check and a template with change_mode "script" parse to what they
// say, with Nomad's defaults (a change_script times out after 5s).
func TestParseGRPCCheckAndChangeScript(t *testing.T) {
	job, err := Parse("job.hcl", []byte(`job "j" {
  group "g" {
    network {
      port "grpc" {}
    }
    service {
      port = "grpc"
      check {
        type            = "grpc"
        grpc_service    = "api.v1"
        grpc_use_tls    = true
        tls_skip_verify = true
        interval        = "5s"
      }
    }
    task "t" {
      driver = "raw_exec"
      template {
        data        = "x"
        destination = "local/x"
        change_mode = "script"
        change_script {
          command       = "/local/reload.sh"
          args          = ["-q"]
          fail_on_error = true
        }
      }
    }
  }
}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := job.TaskGroups[0].Services[0].Checks[0]
	if c.Type != structs.CheckTypeGRPC || c.GRPCService != "api.v1" || !c.GRPCUseTLS || !c.TLSSkipVerify || c.Timeout != structs.DefaultCheckTimeout {
		t.Errorf("grpc check %s", dump(c))
	}
	cs := job.TaskGroups[0].Tasks[0].Templates[0].ChangeScript
	want := &structs.ChangeScript{Command: "/local/reload.sh", Args: []string{"-q"}, Timeout: structs.DefaultChangeScriptTimeout, FailOnError: true}
	if dump(cs) != dump(want) {
		t.Errorf("change_script %s, want %s", dump(cs), dump(want))
	}
}

// wantParseError fails the test unless parsing src fails with an *Error
// reading exactly want.
func wantParseError(t *testing.T, src, want string) {
	t.Helper()
	job, err := Parse("job.hcl", []byte(src), Options{})
	if err == nil {
		t.Fatalf("no error; job %s", dump(job))
	}
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("%T is not an *Error: %v", err, err)
	}
	if got := err.Error(); got != want {
		t.Fatalf("error:\n%s\nwant:\n%s", got, want)
	}
}

// An http check's body is sent with its request (Nomad's body).
func TestParseHTTPCheckBody(t *testing.T) {
	job, err := Parse("job.hcl", []byte(`job "j" {
  group "g" {
    network {
      port "http" {}
    }
    service {
      name = "s"
      port = "http"
      check {
        type     = "http"
        method   = "POST"
        path     = "/ping"
        body     = "{\"ping\": true}"
        interval = "10s"
        timeout  = "2s"
      }
    }
    task "t" {
      driver = "raw_exec"
    }
  }
}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := job.TaskGroups[0].Services[0].Checks[0]; c.Body != `{"ping": true}` || c.Method != "POST" {
		t.Errorf("check %+v", c)
	}
}
