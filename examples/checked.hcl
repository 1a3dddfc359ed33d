# checked: the check types a raw_exec task can use, in one group. A script
# check runs in the task's environment (through the driver's exec); a
# check_restart restarts the task after 3 failing results in a row; the
# deployment waits for the required checks to pass (the tcp one is
# on_update = "ignore", the script one may warn: ignore_warnings). A grpc
# check would read:
#
#   check { type = "grpc"  port = "grpc"  grpc_service = "api.v1"  grpc_use_tls = true  interval = "5s" }
#
#   orch job run examples/checked.hcl
#   orch alloc checks <alloc>

job "checked" {
  type        = "service"
  datacenters = ["*"]

  update {
    max_parallel     = 1
    min_healthy_time = "3s"
    healthy_deadline = "1m"
  }

  group "web" {
    count = 1

    network {
      port "http" {}
    }

    service {
      name = "${NOMAD_JOB_NAME}-web"
      port = "http"

      check {
        name     = "index"
        type     = "http"
        path     = "/index.html"
        interval = "5s"
        timeout  = "2s"
        header {
          X-Health-Check = ["orch"]
        }
      }

      check {
        name      = "listening"
        type      = "tcp"
        interval  = "10s"
        timeout   = "2s"
        on_update = "ignore"
      }

      check {
        name      = "content"
        type      = "script"
        task      = "server"
        command   = "/bin/sh"
        args      = ["-c", "grep -q ok local/www/index.html || exit 1"]
        interval  = "10s"
        timeout   = "3s"
        on_update = "ignore_warnings"

        check_restart {
          limit = 3
          grace = "15s"
        }
      }
    }

    task "server" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo ok > local/www/index.html && exec python3 -m http.server $NOMAD_PORT_http --bind 127.0.0.1 --directory local/www"]
      }

      template {
        data        = "generated for {{ env \"NOMAD_ALLOC_ID\" }}\n"
        destination = "local/www/about.txt"
        change_mode = "noop"
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
