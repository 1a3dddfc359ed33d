package command

import (
	"os"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/orch-io/orch/command/agent"
)

func TestAgentFlagsJoinAndBootstrapExpect(t *testing.T) {
	var got *agent.Config
	cmd := agentCommand()
	cmd.Action = func(c *cli.Context) error {
		got = agent.DefaultConfig()
		applyAgentFlags(c, got)
		return nil
	}
	app := &cli.App{Commands: []*cli.Command{cmd}}
	args := []string{"orch", "agent", "-server", "-bootstrap-expect", "3",
		"-join", "127.0.0.1:4648,127.0.0.2:4648", "-join", "127.0.0.3"}
	if err := app.Run(args); err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1:4648", "127.0.0.2:4648", "127.0.0.3"}
	if !reflect.DeepEqual(got.ServerJoin.RetryJoin, want) || got.Server.BootstrapExpect != 3 || !got.Server.Enabled {
		t.Fatalf("join = %v, bootstrap_expect = %d, server = %v; want %v, 3, true",
			got.ServerJoin.RetryJoin, got.Server.BootstrapExpect, got.Server.Enabled, want)
	}
}

// A server agent raises the collector's target unless GOGC is set; a
// client-only agent keeps Go's default.
func TestServerGCPercent(t *testing.T) {
	env := func(gogc string) func(string) string {
		return func(k string) string {
			if k == "GOGC" {
				return gogc
			}
			return ""
		}
	}
	for _, c := range []struct {
		server bool
		gogc   string
		want   int
		set    bool
	}{
		{server: true, want: defaultServerGCPercent, set: true},
		{server: true, gogc: "50"},
		{server: true, gogc: "off"},
		{server: false},
		{server: false, gogc: "300"},
	} {
		got, set := serverGCPercent(c.server, env(c.gogc))
		if got != c.want || set != c.set {
			t.Errorf("server %v, GOGC %q: got (%d, %v), want (%d, %v)", c.server, c.gogc, got, set, c.want, c.set)
		}
	}
}

// The soft memory limit is three quarters of the smaller of the cgroup's
// limit and the machine's memory, none when GOMEMLIMIT is set or nothing is
// known.
func TestServerMemoryLimit(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(path string) ([]byte, error) {
			if v, ok := m[path]; ok {
				return []byte(v), nil
			}
			return nil, os.ErrNotExist
		}
	}
	noEnv := func(string) string { return "" }
	meminfo := "MemTotal:       25165824 kB\nMemFree:        1000 kB\n" // 24 GiB
	for _, c := range []struct {
		name  string
		env   func(string) string
		files map[string]string
		want  int64
	}{
		{"machine", noEnv, map[string]string{"/proc/meminfo": meminfo}, 18 << 30},
		{"cgroup v1 unlimited", noEnv, map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 18 << 30},
		{"cgroup v2 limit", noEnv, map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "4294967296\n"}, 3 << 30},
		{"cgroup v2 max", noEnv, map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "max\n"}, 18 << 30},
		{"GOMEMLIMIT set", func(k string) string {
			if k == "GOMEMLIMIT" {
				return "8GiB"
			}
			return ""
		}, map[string]string{"/proc/meminfo": meminfo}, 0},
		{"nothing known", noEnv, nil, 0},
	} {
		if got := serverMemoryLimit(c.env, files(c.files)); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
