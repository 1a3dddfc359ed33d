# web: a long-running service, three instances. Each prints the time and a
# message every 5 seconds; none binds a port, so all three fit on one machine.
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
        args    = ["-c", "while true; do echo \"$(date) ${ORCH_ALLOC_ID}: $MESSAGE\"; sleep 5; done"]
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
