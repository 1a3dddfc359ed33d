# web: a long-running service, three instances. Each gets a dynamic port
# "http" (a different one per instance, so all three fit on one machine) and
# prints the time, the port and a message every 5 seconds.
#
#   orch job run examples/web.hcl
#   orch job run -var 'message=hi there' -var count=5 examples/web.hcl

variable "message" {
  type        = string
  default     = "still serving"
  description = "What every instance prints along with the time."
}

variable "count" {
  type    = number
  default = 3
}

job "web" {
  type        = "service"
  datacenters = ["*"]

  group "web" {
    count = var.count

    # A dynamic host port, labelled http: the task finds it in $ORCH_PORT_http
    # (and NOMAD_PORT_http), its address in $ORCH_ADDR_http.
    network {
      port "http" {}
    }

    # Restart a crashed instance up to 2 times in 30 minutes, 15s apart, then
    # mark it failed (placing a replacement elsewhere comes with reschedule).
    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    task "server" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo \"$(date) ${ORCH_ALLOC_ID} on port $ORCH_PORT_http: $MESSAGE\"; sleep 5; done"]
      }

      env {
        MESSAGE = var.message
      }

      kill_timeout = "5s"
      kill_signal  = "SIGTERM"

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
