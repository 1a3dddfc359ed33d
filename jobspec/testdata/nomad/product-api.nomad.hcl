# In the style of the HashiCups tutorials (native service discovery):
# dashed port labels, a task service with an http check, env and config
# templates reading the registry.
variable "datacenters" {
  description = "A list of datacenters in the region which are eligible for task placement."
  type        = list(string)
  default     = ["*"]
}

job "product-api" {
  datacenters = var.datacenters

  group "product-api" {
    network {
      port "product-api" {
        static = 9090
      }
    }

    task "product-api" {
      driver = "raw_exec"

      service {
        name     = "product-api"
        provider = "nomad"
        port     = "product-api"

        check {
          type           = "http"
          path           = "/health"
          method         = "GET"
          interval       = "5s"
          timeout        = "2s"
          initial_status = "warning"
          on_update      = "require_healthy"

          header {
            Accept = ["application/json"]
          }
        }
      }

      template {
        data        = <<EOH
{{ range nomadService "database" }}
DB_CONNECTION="host={{ .Address }} port={{ .Port }} user=postgres password=password dbname=products sslmode=disable"
{{ end }}
BIND_ADDRESS = "{{ env "NOMAD_IP_product-api" }}:{{ env "NOMAD_PORT_product-api" }}"
EOH
        destination = "local/env.txt"
        env         = true
      }

      template {
        data = <<EOH
{{- $allocID := env "NOMAD_ALLOC_ID" -}}
{{- range nomadService 1 $allocID "database" }}
primary = {{ .Address }}:{{ .Port }}
{{- end }}
services:
{{- range nomadServices }}
  - {{ .Name }} {{ join "," .Tags }}
{{- end }}
rendered_at = {{ timestamp }}
EOH
        destination = "local/config.yml"
        change_mode = "noop"
        perms       = "0644"
      }

      config {
        command = "/bin/sh"
        args    = ["-c", "exec python3 -m http.server ${NOMAD_PORT_product-api}"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
