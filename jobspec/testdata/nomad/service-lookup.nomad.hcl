# Nomad's end-to-end test style: one task lists every service and reads
# one, into files named with ${NOMAD_TASK_DIR}.
job "service-lookup" {
  datacenters = ["dc1"]
  type        = "service"

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  group "lookup" {
    task "test" {
      driver = "raw_exec"

      config {
        command = "bash"
        args    = ["-c", "sleep 15000"]
      }

      template {
        data = <<EOH
{{ range nomadServices }}
service {{ .Name }} {{ .Tags }}{{ end }}
EOH

        destination = "${NOMAD_TASK_DIR}/services.conf"
        change_mode = "restart"
      }

      template {
        data = <<EOH
{{ range nomadService "redis-cache" }}
service {{ .Name }} {{ .Tags }} {{ .Datacenter }} {{ .AllocID }}{{ end }}
{{- with nomadService "demo-webapp" }}{{ with index . 0 }}
first = {{ .Address }}:{{ .Port }} on {{ .Node }}{{ end }}{{ end }}
node = {{ env "node.unique.name" }}
EOH

        destination = "${NOMAD_TASK_DIR}/service.conf"
        change_mode = "noop"
      }
    }
  }
}
