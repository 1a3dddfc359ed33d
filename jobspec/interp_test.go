package jobspec

import "testing"

// A malformed ${...} that survives HCL (written with the $${ escape) is a
// validation error at the attribute or key that holds it.
func TestParseMalformedInterpolation(t *testing.T) {
	wantParseError(t, `job "j" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/echo"
        args    = ["$${NOMAD_PORT_http"]
      }
      env {
        X = "$${}"
      }
      meta = { m = "a-$${" }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`, `job.hcl:7:9: group "g": task "t": config.args[0] = "${NOMAD_PORT_http": has an unterminated "${" at offset 0: a reference is ${name}, closed by "}"
job.hcl:10:9: group "g": task "t": env["X"] = "${}": has an empty "${}" at offset 0: a reference names a variable, as ${NOMAD_ALLOC_ID} or ${meta.rack}
job.hcl:12:7: group "g": task "t": meta["m"] = "a-${": has an unterminated "${" at offset 2: a reference is ${name}, closed by "}"`)
}
