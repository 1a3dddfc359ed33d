package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/mock"
	"github.com/orch-io/orch/client/driver/rawexec"
	"github.com/orch-io/orch/client/supervisor/supervisortest"
	"github.com/orch-io/orch/structs"
)

func TestMain(m *testing.M) {
	supervisortest.MaybeRun()
	os.Exit(m.Run())
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testClientConfig(t *testing.T, servers RPCer, dataDir string) Config {
	supDir := filepath.Join(dataDir, "supervisor")
	supervisortest.Cleanup(t, supDir)
	return Config{
		SupervisorCommand:   supervisortest.Command(supDir),
		DataDir:             dataDir,
		NodeName:            "test-node",
		Datacenter:          "dc1",
		HTTPAddr:            "127.0.0.1:4646",
		Meta:                map[string]string{"rack": "r1"},
		Servers:             servers,
		Logger:              testLogger(t),
		RetryInterval:       20 * time.Millisecond,
		MaxRetryInterval:    200 * time.Millisecond,
		AllocUpdateInterval: 20 * time.Millisecond,
		NoHeartbeatJitter:   true,
	}
}

// sleeperJob is a service job whose task records its PID and sleeps.
func sleeperJob() *structs.Job {
	return &structs.Job{
		ID: "sleeper", Name: "sleeper", Namespace: "default", Region: "global", Type: structs.JobTypeService,
		TaskGroups: []*structs.TaskGroup{{
			Name: "g", Count: 2,
			Tasks: []*structs.Task{{
				Name: "web", Driver: "raw_exec",
				Config:      map[string]any{"command": "/bin/sh", "args": []any{"-c", "echo $$ > pid; exec sleep 1000"}},
				Resources:   &structs.Resources{CPU: 100, MemoryMB: 32},
				KillTimeout: 5 * time.Second, KillSignal: "SIGTERM",
			}},
		}},
	}
}

// taskPID waits for the task of alloc to have written a PID other than
// notPID, and for that process to have become sleep (during the exec its
// environment reads empty), and returns it.
func taskPID(t *testing.T, dataDir, allocID string, notPID int) int {
	t.Helper()
	path := filepath.Join(dataDir, "client", "allocs", allocID, "web", "pid")
	var pid int
	waitFor(t, "pid of alloc "+allocID, func() bool {
		b, err := os.ReadFile(path)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == notPID || !processAlive(pid) {
			return false
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		return err == nil && string(comm) == "sleep\n"
	})
	return pid
}

func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// processesOfAlloc counts the live processes whose environment names allocID.
func processesOfAlloc(t *testing.T, allocID string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("ORCH_ALLOC_ID=" + allocID + "\x00")
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(env, want) {
			n++
		}
	}
	return n
}

// flakyServers fails the first failures calls, then passes them on.
type flakyServers struct {
	next     RPCer
	mu       sync.Mutex
	failures int
}

func (s *flakyServers) RPC(ctx context.Context, method string, args, reply any) error {
	s.mu.Lock()
	fail := s.failures > 0
	s.failures--
	s.mu.Unlock()
	if fail {
		return errors.New("connection refused")
	}
	return s.next.RPC(ctx, method, args, reply)
}

func TestShutdownWithoutServers(t *testing.T) {
	// Nothing answers: Shutdown still returns promptly.
	c, err := NewClient(testClientConfig(t, &flakyServers{failures: 1 << 30}, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestNewClientConfigErrors(t *testing.T) {
	_, err := NewClient(Config{RetryInterval: -time.Second})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"data_dir: required", "servers: required", "retry_interval = -1s: must not be negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestClientConfigPorts(t *testing.T) {
	valid := Config{DataDir: "d", Servers: noServers, MinDynamicPort: 30000, Reserved: structs.NodeResources{ReservedHostPorts: "22, 80,8000-8100"}}
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid port settings: %v", err)
	}
	bad := valid
	bad.MinDynamicPort, bad.MaxDynamicPort, bad.Reserved.ReservedHostPorts = 40000, 30000, "80-70"
	bad.Reserved.CPU = -1
	err := bad.Validate()
	for _, want := range []string{
		"min_dynamic_port = 40000: must not exceed max_dynamic_port (30000)",
		`reserved.reserved_ports = "80-70": structs: invalid port specification "80-70": range "80-70": low end above high end`,
		"reserved.cpu = -1: must be >= 0",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	bad = valid
	bad.MaxDynamicPort = 70000
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "max_dynamic_port = 70000: must be between 1 and 65535") {
		t.Errorf("max out of range: %v", err)
	}
	bad = valid
	bad.MinDynamicPort = 33000 // above the default maximum
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "min_dynamic_port = 33000: must not exceed max_dynamic_port (32000)") {
		t.Errorf("min above the default max: %v", err)
	}
}

func TestHeartbeatInterval(t *testing.T) {
	cases := []struct {
		ttl    time.Duration
		jitter float64
		want   time.Duration
	}{
		{10 * time.Second, 0, 5 * time.Second},
		{10 * time.Second, 0.5, 5500 * time.Millisecond},
		{10 * time.Second, 0.999, 5999 * time.Millisecond},
		{0, 0, defaultHeartbeatTTL / 2},
	}
	for _, tc := range cases {
		got := heartbeatInterval(tc.ttl, tc.jitter)
		if got.Round(time.Millisecond) != tc.want {
			t.Errorf("heartbeatInterval(%v, %v) = %v, want %v", tc.ttl, tc.jitter, got, tc.want)
		}
		ttl := tc.ttl
		if ttl == 0 {
			ttl = defaultHeartbeatTTL
		}
		if got >= ttl {
			t.Errorf("interval %v not within TTL %v", got, ttl)
		}
	}
}

func TestBackoff(t *testing.T) {
	base, limit := 100*time.Millisecond, time.Second
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i, w := range want {
		if got := backoff(base, limit, i+1); got != w {
			t.Errorf("backoff after %d failures = %v, want %v", i+1, got, w)
		}
	}
	if got := backoff(base, limit, 1000); got != limit {
		t.Errorf("backoff(1000) = %v", got)
	}
}

// The first retry of a failed heartbeat is quick (a leader change, a server
// gone: the node must reach the new leader within its grace); later ones back
// off from the configured interval.
func TestHeartbeatRetry(t *testing.T) {
	base, limit := time.Second, 30*time.Second
	want := []time.Duration{200 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}
	for i, w := range want {
		if got := heartbeatRetry(base, limit, i+1); got != w {
			t.Errorf("heartbeatRetry(failure %d) = %v, want %v", i+1, got, w)
		}
	}
	if got := heartbeatRetry(50*time.Millisecond, limit, 1); got != 50*time.Millisecond {
		t.Errorf("first retry with a 50ms base = %v, want 50ms", got)
	}
	if got := heartbeatRetry(base, limit, 1000); got != limit {
		t.Errorf("heartbeatRetry(1000) = %v, want %v", got, limit)
	}
}

func TestClientConfigDrivers(t *testing.T) {
	cfg := Config{DataDir: "d", Servers: noServers,
		Drivers: []driver.Driver{rawexec.New(nil, nil), mock.New(nil), mock.New(nil)}}
	err := cfg.Validate()
	for _, want := range []string{
		`drivers: "raw_exec": must not be given: the client runs it on the node's supervisor`,
		`drivers: "mock" given twice`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// noServers is an RPCer for configurations that are only validated.
var noServers = rpcFunc(func(context.Context, string, any, any) error { return errors.New("no servers") })
