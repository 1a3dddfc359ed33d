# hello: the smallest useful job. One batch task prints a line and exits 0.
#
#   orch job run examples/hello.hcl
#
# ${ORCH_ALLOC_ID} and the other ORCH_* names are not HCL variables: they are
# kept as written and the shell expands them from the environment the client
# gives every task (ORCH_ALLOC_ID, ORCH_JOB_NAME, ORCH_GROUP_NAME,
# ORCH_TASK_NAME, ORCH_ALLOC_DIR, ORCH_TASK_DIR).
job "hello" {
  type        = "batch"
  datacenters = ["*"]

  group "hello" {
    task "hello" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args = [
          "-c",
          "echo \"hello from ${ORCH_ALLOC_ID} (job ${ORCH_JOB_NAME}, task ${ORCH_TASK_NAME}) in ${ORCH_TASK_DIR}\"",
        ]
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
