# frontend: finds the instances of service "api" (examples/api.hcl) through
# a template that reads orch's service registry. The file re-renders when
# api's instances change (scale it: orch job scale api 3), and the task is
# sent SIGHUP (change_mode = "signal"); a second template feeds its
# environment and runs a change_script in the task when it changes.
#
#   orch job run examples/api.hcl
#   orch job run examples/frontend.hcl
#   orch alloc fs <frontend alloc> server/local/upstreams.txt

job "frontend" {
  type        = "service"
  datacenters = ["*"]

  group "frontend" {
    task "server" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo \"$(date) upstreams changed:\"; cat local/upstreams.txt' HUP; echo \"api has $API_COUNT instances\"; while :; do sleep 1 & wait; done"]
      }

      template {
        data          = <<EOT
{{- range nomadService "api" }}
{{ .Address }}:{{ .Port }} {{ join "," .Tags }}
{{- end }}
EOT
        destination   = "local/upstreams.txt"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        splay         = "1s"
      }

      template {
        data        = "API_COUNT={{ len (nomadService \"api\") }}\n"
        destination = "local/api.env"
        env         = true
        change_mode = "script"
        splay       = "1s"

        change_script {
          command       = "/bin/sh"
          args          = ["-c", "echo \"$(date) api.env re-rendered: $(cat local/api.env)\""]
          timeout       = "5s"
          fail_on_error = false
        }
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
