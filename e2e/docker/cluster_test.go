package dockere2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// Ports inside every container (the agent's defaults).
const (
	httpPort   = 4646
	rpcPort    = 4647
	gossipPort = 4648
)

// agent is one container running `orch agent`.
type agent struct {
	name      string // s1..s3, c1..c2; also the agent's node name
	container string
	ip        string // fixed on the suite's network, kept across disconnects
	server    bool

	mu   sync.Mutex
	addr string // its HTTP API as published on 127.0.0.1; "" while unreachable
}

func (a *agent) httpAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addr
}

func (a *agent) setAddr(addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.addr = addr
}

// cluster is 3 servers and 2 clients on a network of their own. Every
// container and the network are removed when the test ends, pass or fail.
type cluster struct {
	t       *testing.T
	network string
	servers []*agent
	clients []*agent
	hist    History
	http    *http.Client
}

// startCluster creates the network and the five agents and waits until the
// servers agree on a leader and both client nodes are ready.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	requireDocker(t)
	c := &cluster{t: t, network: fmt.Sprintf("%s-%s", runID, strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")),
		http: &http.Client{Timeout: 15 * time.Second}}
	prefix := c.createNetwork()
	t.Cleanup(c.remove)
	var join, rpc []string
	for i := range 3 {
		s := &agent{name: fmt.Sprintf("s%d", i+1), ip: fmt.Sprintf("%s.%d", prefix, 11+i), server: true}
		c.servers = append(c.servers, s)
		join = append(join, fmt.Sprintf("%s:%d", s.ip, gossipPort))
		rpc = append(rpc, fmt.Sprintf("%s:%d", s.ip, rpcPort))
	}
	for i := range 2 {
		c.clients = append(c.clients, &agent{name: fmt.Sprintf("c%d", i+1), ip: fmt.Sprintf("%s.%d", prefix, 21+i)})
	}
	for _, a := range c.all() {
		a.container = c.network + "-" + a.name
		args := []string{"agent", "-data-dir", "/data", "-node", a.name, "-log-level", "info", "-join", strings.Join(join, ",")}
		if a.server {
			args = append(args, "-server", "-bootstrap-expect", "3")
		} else {
			args = append(args, "-client", "-servers", strings.Join(rpc, ","), "-config", clientConfigPath)
		}
		run := append([]string{"run", "-d", "--name", a.container, "--hostname", a.name, "--label", labelSuite + "=1",
			"--network", c.network, "--ip", a.ip, "-p", fmt.Sprintf("127.0.0.1::%d", httpPort), image}, args...)
		mustDocker(t, run...)
		c.refreshAddr(a)
	}
	c.waitHealthy()
	return c
}

// createNetwork creates the suite's network on a /24 of 10.200.0.0/13 picked
// at random (a fixed subnet is what lets an agent keep its address across a
// disconnect), trying others while Docker reports an overlap, and returns
// the first three octets.
func (c *cluster) createNetwork() string {
	c.t.Helper()
	var lastErr error
	for range 20 {
		prefix := fmt.Sprintf("10.%d.%d", 200+rand.IntN(8), rand.IntN(256))
		_, err := docker(context.Background(), "network", "create", "--subnet", prefix+".0/24",
			"--label", labelSuite+"=1", c.network)
		if err == nil {
			return prefix
		}
		lastErr = err
	}
	c.t.Fatalf("creating the test network: %v", lastErr)
	return ""
}

// remove dumps the agents' logs when the test failed, then removes the
// containers and the network.
func (c *cluster) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, a := range c.all() {
		if a.container == "" {
			continue
		}
		if c.t.Failed() {
			logs, _ := exec.CommandContext(ctx, "docker", "logs", "--tail", "40", a.container).CombinedOutput()
			c.t.Logf("logs of %s (tail):\n%s", a.name, logs)
		}
		docker(ctx, "unpause", a.container)
		if _, err := docker(ctx, "rm", "-f", "-v", a.container); err != nil {
			c.t.Errorf("removing container %s: %v", a.container, err)
		}
	}
	if _, err := docker(ctx, "network", "rm", c.network); err != nil {
		c.t.Errorf("removing network %s: %v", c.network, err)
	}
}

func (c *cluster) all() []*agent { return append(slices.Clone(c.servers), c.clients...) }

// refreshAddr reads the host port Docker published the agent's HTTP port on
// (it changes when the container restarts).
func (c *cluster) refreshAddr(a *agent) {
	c.t.Helper()
	out := mustDocker(c.t, "port", a.container, fmt.Sprintf("%d/tcp", httpPort))
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "127.0.0.1:") {
			a.setAddr(line)
			return
		}
	}
	c.t.Fatalf("%s: no HTTP port published on 127.0.0.1 (docker port says %q)", a.name, out)
}

// Faults. Each changes what the test process can reach of the agent.

func (c *cluster) disconnect(a *agent) {
	c.t.Helper()
	mustDocker(c.t, "network", "disconnect", c.network, a.container)
	a.setAddr("")
}

func (c *cluster) connect(a *agent) {
	c.t.Helper()
	mustDocker(c.t, "network", "connect", "--ip", a.ip, c.network, a.container)
	c.refreshAddr(a)
}

func (c *cluster) pause(a *agent)   { c.t.Helper(); mustDocker(c.t, "pause", a.container) }
func (c *cluster) unpause(a *agent) { c.t.Helper(); mustDocker(c.t, "unpause", a.container) }

func (c *cluster) kill(a *agent) {
	c.t.Helper()
	mustDocker(c.t, "kill", "--signal", "KILL", a.container)
	a.setAddr("")
}

// restart starts a killed agent again, on its data dir.
func (c *cluster) restart(a *agent) {
	c.t.Helper()
	mustDocker(c.t, "start", a.container)
	c.refreshAddr(a)
}

// errUnreachable: the agent is killed or cut off, so the test process has
// no address for it.
var errUnreachable = errors.New("not reachable from the test process")

// api returns an API client of a; the address is resolved at every call.
func (c *cluster) api(a *agent) (*api.Client, error) {
	addr := a.httpAddr()
	if addr == "" {
		return nil, fmt.Errorf("%s: %w", a.name, errUnreachable)
	}
	return api.NewClient(&api.Config{Address: "http://" + addr, HTTPClient: c.http})
}

// get decodes GET path on a into out and returns the X-Orch-Index header.
func (c *cluster) get(a *agent, path string, out any) (uint64, error) {
	addr := a.httpAddr()
	if addr == "" {
		return 0, fmt.Errorf("%s: %w", a.name, errUnreachable)
	}
	resp, err := c.http.Get("http://" + addr + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("%s: GET %s: %s: %s", a.name, path, resp.Status, strings.TrimSpace(string(b)))
	}
	index, _ := strconv.ParseUint(resp.Header.Get("X-Orch-Index"), 10, 64)
	return index, api.DecodeStructs(resp.Body, out)
}

// execHTTP sends a request to a's HTTP API from inside its container, which
// works while the container is cut off from every network. It returns the
// status code and body.
func (c *cluster) execHTTP(a *agent, method, path string, body []byte) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if body == nil {
		body = []byte{}
	}
	out, err := dockerIn(ctx, body, "exec", "-i", a.container, "/bin/e2ehelper", "http", method,
		fmt.Sprintf("http://127.0.0.1:%d%s", httpPort, path))
	if err != nil {
		return 0, "", err
	}
	status, rest, _ := strings.Cut(out, "\n")
	code, err := strconv.Atoi(status)
	if err != nil {
		return 0, "", fmt.Errorf("%s: e2ehelper printed %q", a.name, out)
	}
	return code, rest, nil
}

// tasks returns the allocation IDs of the task processes running in a's
// container, as the machine sees them.
func (c *cluster) tasks(a *agent) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := docker(ctx, "exec", a.container, "/bin/e2ehelper", "allocs")
	if err != nil {
		return nil, err
	}
	ids := strings.Fields(out)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// leaderOf returns the server a says leads ("" and nil: none).
func (c *cluster) leaderOf(a *agent) (*agent, error) {
	var addr string
	if _, err := c.get(a, "/v1/status/leader", &addr); err != nil {
		return nil, err
	}
	return c.serverAt(addr), nil
}

func (c *cluster) serverAt(rpcAddr string) *agent {
	for _, s := range c.servers {
		if rpcAddr == fmt.Sprintf("%s:%d", s.ip, rpcPort) {
			return s
		}
	}
	return nil
}

// waitHealthy waits until every server sees three alive servers and all
// agree on one leader, and both client nodes are ready; it returns the leader.
func (c *cluster) waitHealthy() *agent {
	c.t.Helper()
	var leader *agent
	waitFor(c.t, "three servers agreeing on a leader and two ready nodes", 90*time.Second, func() error {
		leader = nil
		for _, s := range c.servers {
			var members structs.AgentMembersResponse
			if _, err := c.get(s, "/v1/agent/members", &members); err != nil {
				return err
			}
			alive := 0
			for _, m := range members.Members {
				if m.Status == "alive" && api.IsServerMember(m) {
					alive++
				}
			}
			if alive != 3 {
				return fmt.Errorf("%s sees %d alive servers", s.name, alive)
			}
			l, err := c.leaderOf(s)
			if err != nil {
				return err
			}
			if l == nil || (leader != nil && l != leader) {
				return fmt.Errorf("%s: leader %v, others %v", s.name, l, leader)
			}
			leader = l
		}
		var nodes []*structs.NodeListStub
		if _, err := c.get(leader, "/v1/nodes", &nodes); err != nil {
			return err
		}
		ready := 0
		for _, n := range nodes {
			if n.Status == structs.NodeStatusReady {
				ready++
			}
		}
		if ready != len(c.clients) {
			return fmt.Errorf("%d of %d client nodes ready", ready, len(c.clients))
		}
		return nil
	})
	return leader
}

func (c *cluster) others(a *agent) []*agent {
	var out []*agent
	for _, s := range c.servers {
		if s != a {
			out = append(out, s)
		}
	}
	return out
}

// waitFor polls cond until it returns nil or timeout passes, then fails t
// with cond's last error.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not a wait for an event
	}
}

// figure prints a measured figure in the form the closing note
// collects, on stdout and in the test log.
func figure(t testing.TB, name string, value float64, unit string) {
	t.Helper()
	line := fmt.Sprintf("FIGURE name=%s value=%.3f unit=%s", name, value, unit)
	fmt.Println(line)
	t.Log(line)
}

// sleepJob is a service job of count sleeping tasks (count 0: a Raft write
// and an evaluation that places nothing).
func sleepJob(id string, count int) *structs.Job {
	return &structs.Job{
		ID: id, Name: id, Type: structs.JobTypeService, Datacenters: []string{"*"},
		TaskGroups: []*structs.TaskGroup{{
			Name:  "g",
			Count: count,
			Tasks: []*structs.Task{{
				Name: "t", Driver: "raw_exec",
				Config:    map[string]any{"command": "/bin/e2ehelper", "args": []any{"sleep"}},
				Resources: &structs.Resources{CPU: 50, MemoryMB: 16},
			}},
			EphemeralDisk: &structs.EphemeralDisk{SizeMB: 10},
		}},
	}
}
