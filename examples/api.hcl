# api: two instances of a small HTTP server (python3's http.server), each
# registered in orch's built-in service registry as service "api", with an
# http check that gates deployments (health_check = "checks"): a new version
# is rolled out one instance at a time, first as a canary tagged "canary",
# and promoted (tags switch to "v1") once its check has passed for 5s;
# one that never passes is reverted.
#
#   orch job run examples/api.hcl
#   orch service info api
#   orch job run examples/frontend.hcl     # finds api through a template

job "api" {
  type        = "service"
  datacenters = ["*"]

  update {
    max_parallel      = 1
    canary            = 1
    auto_promote      = true
    auto_revert       = true
    health_check      = "checks"
    min_healthy_time  = "5s"
    healthy_deadline  = "1m"
    progress_deadline = "5m"
  }

  group "api" {
    count = 2

    network {
      port "http" {}
    }

    service {
      name        = "api"
      port        = "http"
      tags        = ["v1"]
      canary_tags = ["canary"]
      provider    = "nomad"

      check {
        name     = "http"
        type     = "http"
        path     = "/"
        interval = "5s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "10s"
        }
      }

      check {
        name      = "port open"
        type      = "tcp"
        interval  = "10s"
        timeout   = "2s"
        on_update = "ignore"
      }
    }

    task "server" {
      driver = "raw_exec"

      config {
        command = "python3"
        args    = ["-m", "http.server", "${NOMAD_PORT_http}", "--bind", "127.0.0.1"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
