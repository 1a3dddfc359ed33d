# In the style of Nomad's check docs: a group service with tcp and script
# checks, check_restart, and a canary update gated on them.
job "redis" {
  datacenters = ["dc1"]
  type        = "service"

  update {
    max_parallel      = 1
    min_healthy_time  = "10s"
    healthy_deadline  = "3m"
    progress_deadline = "10m"
    auto_revert       = true
    canary            = 1
    auto_promote      = true
  }

  group "cache" {
    count = 2

    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    network {
      port "db" {
        to = 6379
      }
    }

    service {
      name         = "redis-cache"
      port         = "db"
      provider     = "nomad"
      tags         = ["global", "cache"]
      canary_tags  = ["canary"]

      meta {
        role = "cache"
      }

      canary_meta {
        role = "cache-canary"
      }
      address_mode = "host"

      check {
        name     = "alive"
        type     = "tcp"
        port     = "db"
        interval = "10s"
        timeout  = "2s"

        success_before_passing   = 2
        failures_before_critical = 3
      }

      check {
        name     = "redis-ping"
        type     = "script"
        task     = "redis"
        command  = "/usr/local/bin/redis-cli"
        args     = ["ping"]
        interval = "30s"
        timeout  = "5s"

        check_restart {
          limit           = 3
          grace           = "90s"
          ignore_warnings = false
        }
      }
    }

    ephemeral_disk {
      size = 300
    }

    task "redis" {
      driver = "docker"

      config {
        image          = "redis:7"
        ports          = ["db"]
        auth_soft_fail = true
      }


      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
