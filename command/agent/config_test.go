package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/client/driver/docker"
	"github.com/orch-io/orch/structs"
)

func writeConfig(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultAndDevConfig(t *testing.T) {
	def := DefaultConfig()
	want := &Config{BindAddr: "0.0.0.0", Datacenter: "dc1", Region: "global", Ports: Ports{HTTP: 4646, RPC: 4647, Serf: 4648}, LogLevel: "INFO",
		Autopilot: AutopilotConfig{CleanupDeadServers: true}, Plugins: PluginsConfig{Docker: docker.DefaultPluginConfig()}}
	if !reflect.DeepEqual(def, want) {
		t.Fatalf("DefaultConfig() = %+v", def)
	}
	// Nothing enabled and no data_dir: the defaults alone are not a runnable agent.
	if err := def.Validate(); err == nil {
		t.Fatal("DefaultConfig must not validate on its own")
	}
	dev := DevConfig()
	want.BindAddr, want.DevMode = "127.0.0.1", true
	want.Server, want.Client = ServerConfig{Enabled: true, BootstrapExpect: 1}, ClientConfig{Enabled: true}
	want.Plugins.Mock, want.Plugins.RawExec = true, true
	want.Telemetry = TelemetryConfig{PrometheusMetrics: true, PublishNodeMetrics: true, PublishAllocationMetrics: true}
	if !reflect.DeepEqual(dev, want) {
		t.Fatalf("DevConfig() = %+v", dev)
	}
	if err := dev.Validate(); err != nil {
		t.Fatalf("DevConfig must validate: %v", err)
	}
}

func TestApplyFileSetsOnlyWhatTheFileSets(t *testing.T) {
	c := DefaultConfig()
	path := writeConfig(t, "server.hcl", `
data_dir  = "/var/lib/orch"
region    = "eu"
log_level = "debug"
ports {
  rpc = 5647
}
server {
  enabled          = true
  bootstrap_expect = 3
  raft_multiplier  = 2
  num_schedulers   = 4
  event_buffer_size = 500
  raft_snapshot_threshold = 100
  raft_snapshot_interval  = "30s"
  min_heartbeat_ttl = "5s"
  heartbeat_grace   = "2s"
  reconnect_grace   = "3s"
  max_heartbeats_per_second = 100.5
  job_gc_interval   = "1m"
  job_gc_threshold  = "2h"
  eval_gc_threshold = "30m"
  deployment_gc_threshold = "10m"
}
`)
	if err := c.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.DataDir, want.Region, want.LogLevel = "/var/lib/orch", "eu", "debug"
	want.Ports.RPC = 5647
	want.Server = ServerConfig{Enabled: true, BootstrapExpect: 3, RaftMultiplier: 2, NumSchedulers: 4, EventBufferSize: 500,
		RaftSnapshotThreshold: 100, RaftSnapshotInterval: 30 * time.Second,
		MinHeartbeatTTL: 5 * time.Second, HeartbeatGrace: 2 * time.Second, MaxHeartbeatsPerSecond: 100.5,
		ReconnectGrace: 3 * time.Second,
		JobGCInterval:  time.Minute, JobGCThreshold: 2 * time.Hour, EvalGCThreshold: 30 * time.Minute, DeploymentGCThreshold: 10 * time.Minute}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("after %s:\n got %+v\nwant %+v", path, c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}

	// A second file layers over the first.
	path2 := writeConfig(t, "client.hcl", `
bind_addr  = "10.0.0.5"
datacenter = "dc2"
name       = "node-1"
ports {
  http = 8080
  serf = 8301
}
server { enabled = false }
client {
  enabled          = true
  node_pool        = "gpu"
  servers          = ["10.0.0.1:4647", "10.0.0.2:4647"]
  min_dynamic_port = 30000
  max_dynamic_port = 31000
  node_class       = "gpu-large"
  meta {
    rack  = "r7"
    zone_a = 3
  }
  reserved {
    cpu            = 500
    memory         = 256
    disk           = 1024
    reserved_ports = "22,8000-8100"
    cores          = "0-1,3"
  }
  gc_interval              = "30s"
  gc_max_allocs            = 20
  gc_disk_usage_threshold  = 90
  gc_inode_usage_threshold = 75.5
  gc_parallel_destroys     = 4
}
`)
	if err := c.ApplyFile(path2); err != nil {
		t.Fatal(err)
	}
	want.BindAddr, want.Datacenter, want.NodeName = "10.0.0.5", "dc2", "node-1"
	want.Ports = Ports{HTTP: 8080, RPC: 5647, Serf: 8301}
	want.Server.Enabled = false
	want.Client = ClientConfig{Enabled: true, Servers: []string{"10.0.0.1:4647", "10.0.0.2:4647"},
		NodePool: "gpu", MinDynamicPort: 30000, MaxDynamicPort: 31000, ReservedPorts: "22,8000-8100",
		NodeClass: "gpu-large", Meta: map[string]string{"rack": "r7", "zone_a": "3"},
		ReservedCPU: 500, ReservedMemoryMB: 256, ReservedDiskMB: 1024, ReservedCores: []int{0, 1, 3},
		GC: client.GCPolicy{Interval: 30 * time.Second, MaxAllocs: 20, DiskUsageThreshold: 90, InodeUsageThreshold: 75.5, ParallelDestroys: 4}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("after %s:\n got %+v\nwant %+v", path2, c, want)
	}
}

func TestApplyFileJSON(t *testing.T) {
	c := DefaultConfig()
	path := writeConfig(t, "agent.json", `{"data_dir": "/data", "client": {"enabled": true}, "ports": {"http": 9646}}`)
	if err := c.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/data" || !c.Client.Enabled || c.Ports.HTTP != 9646 || c.Ports.RPC != 4647 {
		t.Fatalf("got %+v", c)
	}
}

func TestApplyFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // lines, the file path prefixed to each
	}{
		{"unknown attribute and block", `
data_dir = "/d"
datadir  = "/x"
vault {}
`, []string{
			`:3:1: Unsupported argument; An argument named "datadir" is not expected here.`,
			`:4:1: Unsupported block type; Blocks of type "vault" are not expected here.`,
		}},
		{"unknown attribute in a block", `
server {
  enabled = true
  bootstrap = 3
}
`, []string{
			`:4:3: Unsupported argument; An argument named "bootstrap" is not expected here.`,
		}},
		{"wrong types", `
ports {
  http = "web"
  rpc  = 1.5
}
client {
  enabled = "maybe"
}
`, []string{
			`:3:11: Unsuitable value type; Unsuitable value: a number is required`,
			`:4:10: Unsuitable value type; Unsuitable value: value must be a whole number, between -9223372036854775808 and 9223372036854775807`,
			`:7:14: Unsuitable value type; Unsuitable value: a bool is required`,
		}},
		{"bad client reserved and meta", `
client {
  reserved {
    cpu    = -5
    memory = 1.5
    disk   = "lots"
    cores  = "0-x"
  }
  meta {
    ok   = "x"
    list = ["a"]
  }
}
`, []string{
			`:4:14: client.reserved.cpu = -5: must be a whole number >= 0`,
			`:5:14: client.reserved.memory = 1.5: must be a whole number >= 0`,
			`:6:14: client.reserved.disk: must be a whole number >= 0`,
			`:7:14: client.reserved.cores = "0-x": "0-x" is not a range of core IDs ("0-3": low <= high <= 4095)`,
			`:11:5: client.meta.list: must be a string, not tuple`,
		}},
		{"duplicate block", `
client { enabled = true }
client { enabled = false }
`, []string{
			`:3:1: Duplicate client block; Only one client block is allowed. Another was defined at `,
		}},
		{"syntax error", `
data_dir = "/d
`, []string{
			`:2:15: Invalid multi-line string; Quoted strings may not be split over multiple lines.`,
			`:2:15: Unterminated template string; No closing marker was found for the string.`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, "agent.hcl", tc.src)
			c := DefaultConfig()
			err := c.ApplyFile(path)
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("error:\n%v\nwant %d lines", err, len(tc.want))
			}
			for i, want := range tc.want {
				if !strings.HasPrefix(lines[i], path+want) {
					t.Errorf("line %d:\n%s\nwant prefix:\n%s", i, lines[i], path+want)
				}
			}
			if !reflect.DeepEqual(c, DefaultConfig()) {
				t.Fatalf("a bad file changed the config: %+v", c)
			}
		})
	}

	err := DefaultConfig().ApplyFile(filepath.Join(t.TempDir(), "missing.hcl"))
	if err == nil || !strings.Contains(err.Error(), "missing.hcl") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestValidate(t *testing.T) {
	valid := func() *Config {
		c := DefaultConfig()
		c.DataDir = "/var/lib/orch"
		c.Server = ServerConfig{Enabled: true, BootstrapExpect: 3}
		return c
	}
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"valid", func(c *Config) {}, nil},
		{"client only", func(c *Config) {
			c.Server = ServerConfig{}
			c.Client = ClientConfig{Enabled: true, Servers: []string{"10.0.0.1:4647"}}
		}, nil},
		{"client only without servers", func(c *Config) { c.Server = ServerConfig{}; c.Client.Enabled = true },
			[]string{`client.servers = [] and server_join.retry_join = []: a client-only agent needs the RPC address (host:port) of a server or the gossip address of an agent to join (-join)`}},
		{"client only joining by gossip", func(c *Config) {
			c.Server = ServerConfig{}
			c.Client = ClientConfig{Enabled: true}
			c.ServerJoin.RetryJoin = []string{"10.0.0.1:4648"}
		}, nil},
		{"bad server address", func(c *Config) { c.Client = ClientConfig{Enabled: true, Servers: []string{"10.0.0.1"}} },
			[]string{`client.servers[0] = "10.0.0.1": must be host:port`}},
		{"dev needs no data_dir", func(c *Config) { c.DataDir, c.DevMode = "", true }, nil},
		{"IPv6 and lower-case level", func(c *Config) { c.BindAddr, c.LogLevel = "::1", "warn" }, nil},
		{"no data_dir", func(c *Config) { c.DataDir = "" }, []string{`data_dir = "": required (except with -dev)`}},
		{"bad bind_addr", func(c *Config) { c.BindAddr = "localhost" }, []string{`bind_addr = "localhost": must be an IP address`}},
		{"empty names", func(c *Config) { c.Datacenter, c.Region = "", "" },
			[]string{`datacenter = "": must not be empty`, `region = "": must not be empty`}},
		{"bad log level", func(c *Config) { c.LogLevel = "verbose" },
			[]string{`log_level = "verbose": must be one of TRACE, DEBUG, INFO, WARN, ERROR`}},
		{"ports out of range", func(c *Config) { c.Ports = Ports{HTTP: 0, RPC: 65536, Serf: 65535} },
			[]string{`ports.http = 0: must be between 1 and 65535`, `ports.rpc = 65536: must be between 1 and 65535`}},
		{"ports not distinct", func(c *Config) { c.Ports = Ports{HTTP: 4646, RPC: 4646, Serf: 4646} },
			[]string{`ports.rpc = 4646: must differ from ports.http`, `ports.serf = 4646: must differ from ports.http`, `ports.serf = 4646: must differ from ports.rpc`}},
		{"nothing enabled", func(c *Config) { c.Server.Enabled = false },
			[]string{`server.enabled = false and client.enabled = false: enable at least one of them`}},
		{"bootstrap_expect", func(c *Config) { c.Server.BootstrapExpect = 0 },
			[]string{`server.bootstrap_expect = 0: must be >= 1 when the server is enabled`}},
		{"heartbeat settings", func(c *Config) {
			c.Server.MinHeartbeatTTL, c.Server.HeartbeatGrace, c.Server.MaxHeartbeatsPerSecond = -time.Second, -time.Second, -1
			c.Server.ReconnectGrace = -time.Second
		}, []string{
			`server.min_heartbeat_ttl = -1s: must be >= 0 (0: the default)`,
			`server.heartbeat_grace = -1s: must be >= 0 (0: the default)`,
			`server.reconnect_grace = -1s: must be >= 0 (0: off)`,
			`server.max_heartbeats_per_second = -1: must be >= 0 (0: the default)`,
		}},
		{"num_schedulers", func(c *Config) { c.Server.NumSchedulers = -1 },
			[]string{`server.num_schedulers = -1: must be >= 0 (0: one per CPU core)`}},
		{"event_buffer_size", func(c *Config) { c.Server.EventBufferSize = -1 },
			[]string{`server.event_buffer_size = -1: must be >= 0 (0: 100)`}},
		{"otlp_endpoint", func(c *Config) { c.Telemetry.OTLPEndpoint = "collector:4318" }, nil},
		{"bad otlp_endpoint", func(c *Config) { c.Telemetry.OTLPEndpoint = "http://collector" },
			[]string{`telemetry.otlp_endpoint = "http://collector": must be host:port, without a scheme (an OTLP/HTTP collector, such as localhost:4318)`}},
		{"otlp_endpoint port", func(c *Config) { c.Telemetry.OTLPEndpoint = "collector:0" },
			[]string{`telemetry.otlp_endpoint = "collector:0": port "0" must be a number between 1 and 65535`}},
		{"raft_multiplier", func(c *Config) { c.Server.RaftMultiplier = 11 },
			[]string{`server.raft_multiplier = 11: must be between 1 and 10 (0: 1)`}},
		{"everything at once", func(c *Config) { *c = Config{} }, []string{
			`data_dir = "": required (except with -dev)`,
			`bind_addr = "": must be an IP address`,
			`datacenter = "": must not be empty`,
			`region = "": must not be empty`,
			`log_level = "": must be one of TRACE, DEBUG, INFO, WARN, ERROR`,
			`ports.http = 0: must be between 1 and 65535`,
			`ports.rpc = 0: must be between 1 and 65535`,
			`ports.serf = 0: must be between 1 and 65535`,
			`server.enabled = false and client.enabled = false: enable at least one of them`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			before := *c
			err := c.Validate()
			if !reflect.DeepEqual(*c, before) {
				t.Fatalf("Validate changed the config: %+v", c)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || err.Error() != strings.Join(tc.want, "\n") {
				t.Fatalf("error:\n%v\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestApplyFileServerJoin(t *testing.T) {
	c := DefaultConfig()
	path := writeConfig(t, "join.hcl", `
data_dir = "/var/lib/orch"
server {
  enabled          = true
  bootstrap_expect = 3
}
server_join {
  retry_join     = ["10.0.0.1:4648", "10.0.0.2"]
  retry_interval = "15s"
}
`)
	if err := c.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	want := ServerJoin{RetryJoin: []string{"10.0.0.1:4648", "10.0.0.2"}, RetryInterval: 15 * time.Second}
	if !reflect.DeepEqual(c.ServerJoin, want) || c.Server.BootstrapExpect != 3 {
		t.Fatalf("server_join = %+v, bootstrap_expect = %d; want %+v, 3", c.ServerJoin, c.Server.BootstrapExpect, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}

	badTTL := writeConfig(t, "badttl.hcl", `server { min_heartbeat_ttl = "often" }`)
	if err := c.ApplyFile(badTTL); err == nil || !strings.Contains(err.Error(), `server.min_heartbeat_ttl = "often": must be a duration`) {
		t.Errorf("bad min_heartbeat_ttl: err = %v", err)
	}
	bad := writeConfig(t, "bad.hcl", `server_join { retry_interval = "soon" }`)
	if err := c.ApplyFile(bad); err == nil || !strings.Contains(err.Error(), `server_join.retry_interval = "soon"`) {
		t.Errorf("bad retry_interval: err = %v", err)
	} else if want := bad + ":1:32: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("bad retry_interval: err = %v, want it to start with the position %s", err, want)
	}
	notString := writeConfig(t, "num.hcl", "autopilot {\n  server_stabilization_time = 10\n}\n")
	if err := c.ApplyFile(notString); err == nil || err.Error() != notString+`:2:31: autopilot.server_stabilization_time: must be a duration string such as "10s"` {
		t.Errorf("numeric server_stabilization_time: err = %v", err)
	}
	// A client-only agent joins by gossip too, with or without client.servers.
	c.Server.Enabled, c.Client = false, ClientConfig{Enabled: true}
	if err := c.Validate(); err != nil {
		t.Errorf("retry_join on a client-only agent: %v", err)
	}
}

func TestApplyFileWithABadDurationChangesNothing(t *testing.T) {
	c := DefaultConfig()
	before := *c
	path := writeConfig(t, "agent.hcl", `
data_dir = "/data"
server {
  enabled           = true
  min_heartbeat_ttl = "soon"
}
`)
	err := c.ApplyFile(path)
	if err == nil || !strings.Contains(err.Error(), `server.min_heartbeat_ttl = "soon"`) {
		t.Fatalf("err = %v, want it to name server.min_heartbeat_ttl", err)
	}
	if !reflect.DeepEqual(*c, before) {
		t.Fatalf("a file with a bad value half-applied: %+v", c)
	}
}

func TestApplyFileLimits(t *testing.T) {
	c := DevConfig()
	path := writeConfig(t, "limits.hcl", `
limits {
  job_max_group_count   = 100
  job_max_allocations   = 500
  job_max_size          = 1048576
  job_max_name_length   = 64
  job_max_map_entries   = 50
  job_max_string_length = 4096
  task_config_max_depth = 8
}
`)
	if err := c.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	want := structs.Limits{JobMaxGroupCount: 100, JobMaxAllocations: 500, JobMaxSize: 1 << 20, JobMaxNameLength: 64,
		JobMaxMapEntries: 50, JobMaxStringLength: 4096, TaskConfigMaxDepth: 8}
	if c.Limits != want {
		t.Fatalf("limits = %+v, want %+v", c.Limits, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}

	bad := DevConfig()
	if err := bad.ApplyFile(writeConfig(t, "bad.hcl", "limits {\n  job_max_group_count = -1\n  task_config_max_depth = 5000\n}\n")); err != nil {
		t.Fatal(err)
	}
	err := bad.Validate()
	for _, want := range []string{
		"limits.job_max_group_count = -1: must be >= 0 (0: the default)",
		"limits.task_config_max_depth = 5000: must be at most 256",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate: %v; want it to contain %q", err, want)
		}
	}
	unknown := DevConfig()
	err = unknown.ApplyFile(writeConfig(t, "unknown.hcl", "limits {\n  job_max_count = 1\n}\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown.hcl:2:3: Unsupported argument; An argument named "job_max_count" is not expected here`) {
		t.Fatalf("unknown limit: %v", err)
	}
}
