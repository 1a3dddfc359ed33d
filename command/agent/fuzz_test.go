package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// The fuzz targets of the agent's inputs (`make fuzz` runs them): an HTTP
// job body and an agent configuration file. Nothing may panic, and what is
// accepted must be usable.

// FuzzJobBody decodes a registration body as PUT /v1/jobs does, then copies,
// canonicalizes and validates the job as Job.Register does. A job that
// passes must survive the msgpack round trip to the clients.
func FuzzJobBody(f *testing.F) {
	n := []string{"9223372036854775807", "-9223372036854775808", "-1", "0", "1e308", "1.5", "null", `"1"`}
	for _, v := range n {
		f.Add([]byte(`{"Job": {"ID": "j", "Priority": ` + v + `, "TaskGroups": [{"Name": "g", "Count": ` + v +
			`, "EphemeralDisk": {"SizeMB": ` + v + `}, "RestartPolicy": {"Attempts": ` + v + `, "Interval": ` + v + `},
			"Networks": [{"ReservedPorts": [{"Label": "p", "Value": ` + v + `, "To": ` + v + `}]}],
			"Tasks": [{"Name": "t", "Driver": "mock", "KillTimeout": ` + v + `, "Resources": {"CPU": ` + v + `, "MemoryMB": ` + v + `}}]}]}}`))
	}
	f.Add([]byte(`{"Job": {"ID": "x", "Datacenters": [null], "Constraints": [null], "Affinities": [null], "Spreads": [null, {"SpreadTarget": [null]}],
		"Meta": {"k": null}, "TaskGroups": [null, {"Name": "g", "Constraints": [null], "Affinities": [null], "Spreads": [null], "Networks": [null, {"ReservedPorts": [null], "DynamicPorts": [null]}],
		"Meta": null, "RestartPolicy": null, "EphemeralDisk": null,
		"Tasks": [null, {"Name": "t", "Driver": "mock", "Constraints": [null], "Affinities": [null], "Resources": null, "Env": {"a": null}, "Config": {"a": [null], "b": {"c": null}}}]}]}}`))
	f.Add([]byte(`{"Job": {"ID": "x", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "mock", "Config": ` +
		strings.Repeat(`{"a": `, 1015) + `1` + strings.Repeat(`}`, 1015) + `}]}]}}`))
	f.Add([]byte(`{"Job": {"ID": "x", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "mock", "Config": {"a": ` +
		strings.Repeat(`[`, 500) + strings.Repeat(`]`, 500) + `}}]}]}}`))
	f.Add([]byte(`{"Job": {"ID": "..", "TaskGroups": [{"Name": "a/b", "Tasks": [{"Name": "../../x\u0000", "Driver": "mock", "Resoruces": {}}]}]}}`))
	f.Add([]byte(`{"Job": {"ID": "j"}, "EnforceIndex": true, "JobModifyIndex": -1}`))
	f.Add([]byte(`{"Job": null}`))
	f.Add([]byte(`[null]`))

	f.Fuzz(func(t *testing.T, raw []byte) {
		decoded, err := decodeJobBody(bytes.NewReader(raw), &api.JobRegisterRequest{})
		if err != nil {
			return
		}
		job := decoded.Copy()
		job.Canonicalize()
		if job.Validate() != nil {
			return
		}
		buf, err := structs.Encode(job)
		if err != nil {
			t.Fatalf("a valid job does not encode: %v", err)
		}
		var back structs.Job
		if err := structs.Decode(buf, &back); err != nil {
			t.Fatalf("a valid job does not decode on a client: %v", err)
		}
	})
}

// FuzzAgentConfig applies an arbitrary configuration file (HCL, or JSON when
// it starts with "{") to the defaults and validates the result.
func FuzzAgentConfig(f *testing.F) {
	f.Add([]byte(`data_dir = "/tmp/x"
server { enabled = true
  bootstrap_expect = 9223372036854775807
  raft_multiplier = -1
  min_heartbeat_ttl = "1e308s"
  max_heartbeats_per_second = 1e308
}
client { enabled = true
  servers = [null, "a"]
  reserved { reserved_ports = "1-65535,0,-1" }
}
limits { job_max_group_count = -9223372036854775808 }
ports { http = 1e308 }
`))
	f.Add([]byte(`{"data_dir": null, "server": [{"enabled": true}, {"enabled": null}], "client": {"servers": [null]}, "ports": {"http": -1}}`))
	f.Add([]byte(`server_join { retry_join = [null] retry_interval = null }` + "\nautopilot { max_trailing_logs = 9223372036854775807 }"))
	f.Add([]byte(strings.Repeat("server {\n", 200) + strings.Repeat("}\n", 200)))
	f.Add([]byte(`log_level = "` + strings.Repeat("\x00", 10) + `"`))

	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		name := "agent.hcl"
		if bytes.HasPrefix(bytes.TrimSpace(src), []byte("{")) {
			name = "agent.json"
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, src, 0o600); err != nil {
			t.Fatal(err)
		}
		c := DefaultConfig()
		if err := c.ApplyFile(path); err != nil {
			return
		}
		_ = c.Validate()
	})
}
