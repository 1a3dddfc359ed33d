# In the style of Nomad's "load balancing with NGINX" tutorial: a demo web
# app registered in Nomad's native service discovery with an HTTP check.
job "demo-webapp" {
  datacenters = ["dc1"]
  type        = "service"

  group "demo" {
    count = 3

    network {
      port "http" {
        to = -1
      }
    }

    service {
      name     = "demo-webapp"
      port     = "http"
      provider = "nomad"
      tags     = ["urlprefix-/", "http"]

      meta {
        version = "1.0"
        team    = "web"
      }

      check {
        type     = "http"
        path     = "/"
        interval = "2s"
        timeout  = "2s"
      }

      check_restart {
        limit = 3
        grace = "10s"
      }
    }

    task "server" {
      driver = "docker"

      env {
        PORT    = "${NOMAD_PORT_http}"
        NODE_IP = "${NOMAD_IP_http}"
      }

      config {
        image = "hashicorp/demo-webapp-lb-guide"
        ports = ["http"]
      }

      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}
