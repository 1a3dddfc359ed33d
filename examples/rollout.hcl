# rollout: four instances of a service that ships new versions as
# deployments. A new version rolls out two instances at a time, each batch
# once the previous one has run for 3s without a restart; with -var canary=1
# one instance of the new version first runs beside the old ones, and the
# rest follows once it is promoted. A version that fails is reverted.
#
#   orch job run examples/rollout.hcl                               # version v1
#   orch job run -var version=v2 examples/rollout.hcl               # rolling: 2 at a time
#   orch job run -var version=v3 -var canary=1 examples/rollout.hcl # a canary, then promote
#   orch job promote rollout

variable "version" {
  type    = string
  default = "v1"
}

variable "canary" {
  type    = number
  default = 0
}

job "rollout" {
  type        = "service"
  datacenters = ["*"]

  update {
    max_parallel     = 2
    canary           = var.canary
    min_healthy_time = "3s"
    healthy_deadline = "1m"
    auto_revert      = true
  }

  group "app" {
    count = 4

    task "app" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo \"${NOMAD_ALLOC_NAME} runs $VERSION\"; exec sleep 100000"]
      }

      env {
        VERSION = var.version
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
