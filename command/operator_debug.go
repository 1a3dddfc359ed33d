package command

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// operatorDebugCommand is `orch operator debug`: a tar.gz of what an
// operator (or whoever they send it to) needs to see what the cluster was
// doing, as Nomad's `nomad operator debug`.
func operatorDebugCommand() *cli.Command {
	return &cli.Command{
		Name:      "debug",
		Usage:     "Capture the cluster's state, metrics, logs and profiles in a tar.gz",
		UsageText: "orch operator debug [-duration 30s] [-interval 10s] [-output DIR] [-server-id all|NAME,...] [-node-id all|ID,...]",
		Description: "For -duration, captures the log of every agent named (servers by name or \"leader\", clients by\n" +
			"node ID) and, every -interval, the metrics of the agent at -address; once: agent self, members,\n" +
			"Raft configuration, nodes, jobs, and Go profiles (CPU for -pprof-duration, heap, goroutines) of\n" +
			"every agent named that serves them (with ACLs: to agent:write tokens; without: enable_debug).\n" +
			"Writes DIR/orch-debug-<time>.tar.gz, one directory per agent; what could not be captured is\n" +
			"listed in errors.txt.\n\n" +
			"Example:\n" +
			"  orch operator debug -duration 2m -interval 30s -node-id all -output /tmp",
		Flags: []cli.Flag{
			addressFlag(),
			&cli.DurationFlag{Name: "duration", Value: 30 * time.Second, Usage: "how long to capture logs and metrics"},
			&cli.DurationFlag{Name: "interval", Value: 10 * time.Second, Usage: "time between two metrics snapshots"},
			&cli.DurationFlag{Name: "pprof-duration", Value: time.Second, Usage: "how long each CPU profile runs"},
			&cli.StringFlag{Name: "output", Value: ".", Usage: "`DIR` the archive is written to"},
			&cli.StringFlag{Name: "server-id", Value: "all", Usage: "servers to capture: all, leader, or comma-separated `NAMES` (\"\" for none)"},
			&cli.StringFlag{Name: "node-id", Usage: "client nodes to capture: all, or comma-separated `IDS`"},
			&cli.StringFlag{Name: "log-level", Value: "debug", Usage: "`LEVEL` of the captured logs"},
		},
		Action: operatorDebug,
	}
}

// debugOptions are operator debug's validated flags.
type debugOptions struct {
	duration, interval, pprofDuration time.Duration
	output                            string
	serverIDs, nodeIDs                string
	logLevel                          string
	now                               func() time.Time
}

func operatorDebug(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	o := debugOptions{duration: c.Duration("duration"), interval: c.Duration("interval"), pprofDuration: c.Duration("pprof-duration"),
		output: c.String("output"), serverIDs: c.String("server-id"), nodeIDs: c.String("node-id"), logLevel: c.String("log-level"), now: time.Now}
	if err := o.validate(); err != nil {
		return usageErrorf(c, "%v", err)
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	start := time.Now()
	file, err := runDebug(c.Context, client, o, c.App.Writer)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Created debug archive: %s (%s)\n", file, time.Since(start).Round(time.Millisecond))
	return nil
}

func (o debugOptions) validate() error {
	var errs []error
	if o.duration <= 0 {
		errs = append(errs, fmt.Errorf("-duration %s: must be > 0", o.duration))
	}
	if o.interval <= 0 || o.interval > o.duration {
		errs = append(errs, fmt.Errorf("-interval %s: must be > 0 and at most -duration (%s)", o.interval, o.duration))
	}
	if o.pprofDuration <= 0 || o.pprofDuration > 5*time.Minute {
		errs = append(errs, fmt.Errorf("-pprof-duration %s: must be > 0 and at most 5m", o.pprofDuration))
	}
	switch strings.ToLower(o.logLevel) {
	case "trace", "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("-log-level %q: must be one of trace, debug, info, warn, error", o.logLevel))
	}
	if st, err := os.Stat(o.output); err != nil || !st.IsDir() {
		errs = append(errs, fmt.Errorf("-output %q: must be an existing directory", o.output))
	}
	return errors.Join(errs...)
}

// debugTarget is one agent the bundle captures.
type debugTarget struct {
	dir    string // in the archive: server/<name> or client/<node id>
	target api.AgentTarget
}

// debugBundle collects the archive's files. Safe for concurrent use.
type debugBundle struct {
	mu    sync.Mutex
	files map[string][]byte
	errs  []string
}

func (b *debugBundle) add(name string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.files[name] = data
}

func (b *debugBundle) fail(what string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, fmt.Sprintf("%s: %v", what, err))
}

// runDebug captures the bundle and writes the archive; it returns its path.
func runDebug(ctx context.Context, client *api.Client, o debugOptions, out io.Writer) (string, error) {
	b := &debugBundle{files: map[string][]byte{}}
	get := func(name, p string, params url.Values) []byte {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		data, err := client.GetRaw(ctx, p, params)
		if err != nil {
			b.fail(name, err)
			return nil
		}
		b.add(name, data)
		return data
	}
	self := get("cluster/agent-self.json", "/v1/agent/self", nil)
	if self == nil {
		return "", fmt.Errorf("operator debug: the agent at %s does not answer: %s", client.Address(), strings.Join(b.errs, "; "))
	}
	members := get("cluster/members.json", "/v1/agent/members", nil)
	get("cluster/raft-configuration.json", "/v1/operator/raft/configuration", nil)
	get("cluster/leader.json", "/v1/status/leader", nil)
	nodes := get("cluster/nodes.json", "/v1/nodes", nil)
	get("cluster/jobs.json", "/v1/jobs", url.Values{"namespace": {"*"}})
	get("cluster/evaluations.json", "/v1/evaluations", url.Values{"namespace": {"*"}})

	targets, err := debugTargets(o, members, nodes)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(out, "Capturing for %s: %d agents\n", o.duration, len(targets))

	capture, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			err := monitorLogs(capture, client, api.MonitorOptions{AgentTarget: t.target, LogLevel: o.logLevel}, &buf)
			if err != nil {
				b.fail(t.dir+"/monitor.log", err)
			}
			b.add(t.dir+"/monitor.log", buf.Bytes())
		}()
	}
	// One agent after the other: a process takes one CPU profile at a
	// time (a combined agent is one process), and the cluster is disturbed
	// by one profile at a time.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, t := range targets {
			debugProfiles(ctx, client, t, o, b)
		}
	}()
	for i := 0; ; i++ {
		get(fmt.Sprintf("metrics/%04d-%s.json", i, o.now().UTC().Format("150405")), "/v1/metrics", nil)
		t := time.NewTimer(o.interval)
		select {
		case <-capture.Done():
			t.Stop()
		case <-t.C:
			continue
		}
		break
	}
	wg.Wait()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return b.write(o.output, o.now())
}

// debugProfiles takes the profiles of one agent; an agent without
// enable_debug is noted once in errors.txt.
func debugProfiles(ctx context.Context, client *api.Client, t debugTarget, o debugOptions, b *debugBundle) {
	profiles := []struct {
		name, file string
		opts       api.PprofOptions
	}{
		{"goroutine", "goroutine.txt", api.PprofOptions{Debug: 2}},
		{"heap", "heap.prof", api.PprofOptions{}},
		{"profile", "profile.prof", api.PprofOptions{Seconds: max(1, int(o.pprofDuration/time.Second))}},
	}
	for _, p := range profiles {
		p.opts.AgentTarget = t.target
		data, err := client.Agent().Pprof(ctx, p.name, p.opts)
		if err != nil {
			b.fail(t.dir+"/"+p.file, err)
			if api.IsNotFound(err) {
				return // enable_debug is off there: the others fail alike
			}
			continue
		}
		b.add(t.dir+"/"+p.file, data)
	}
}

// debugTargets resolves -server-id and -node-id against the members and
// nodes the agent answered.
func debugTargets(o debugOptions, membersJSON, nodesJSON []byte) ([]debugTarget, error) {
	var out []debugTarget
	// The members are the servers, as in Nomad.
	var members struct {
		Members []struct{ Name, Status string }
	}
	_ = json.Unmarshal(membersJSON, &members)
	var servers []string
	for _, m := range members.Members {
		if m.Status == "alive" {
			servers = append(servers, m.Name)
		}
	}
	slices.Sort(servers)
	switch o.serverIDs {
	case "":
	case "all":
		for _, s := range servers {
			out = append(out, debugTarget{dir: "server/" + safeName(s), target: api.AgentTarget{ServerID: s}})
		}
	default:
		for _, s := range strings.Split(o.serverIDs, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, debugTarget{dir: "server/" + safeName(s), target: api.AgentTarget{ServerID: s}})
			}
		}
	}
	var nodes []struct{ ID, Name, Status string }
	_ = json.Unmarshal(nodesJSON, &nodes)
	switch o.nodeIDs {
	case "":
	case "all":
		for _, n := range nodes {
			if n.Status == string(structs.NodeStatusReady) {
				out = append(out, debugTarget{dir: "client/" + safeName(n.Name+"-"+n.ID[:min(8, len(n.ID))]), target: api.AgentTarget{NodeID: n.ID}})
			}
		}
	default:
		for _, id := range strings.Split(o.nodeIDs, ",") {
			id = strings.TrimSpace(id)
			var found string
			for _, n := range nodes {
				if strings.HasPrefix(n.ID, id) && id != "" {
					if found != "" {
						return nil, fmt.Errorf("-node-id %q: matches more than one node", id)
					}
					found = n.ID
				}
			}
			if found == "" {
				return nil, fmt.Errorf("-node-id %q: no such node", id)
			}
			out = append(out, debugTarget{dir: "client/" + safeName(found), target: api.AgentTarget{NodeID: found}})
		}
	}
	return out, nil
}

// safeName makes s one path element.
func safeName(s string) string {
	return strings.NewReplacer("/", "_", "\\", "_", "..", "_").Replace(s)
}

// write writes the archive to dir and returns its path.
func (b *debugBundle) write(dir string, now time.Time) (string, error) {
	name := "orch-debug-" + now.UTC().Format("20060102-150405")
	if len(b.errs) > 0 {
		b.files["errors.txt"] = []byte(strings.Join(b.errs, "\n") + "\n")
	}
	file := filepath.Join(dir, name+".tar.gz")
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("operator debug: %w", err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	werr := func() error {
		for _, n := range slices.Sorted(maps.Keys(b.files)) {
			data := b.files[n]
			if err := tw.WriteHeader(&tar.Header{Name: path.Join(name, n), Mode: 0o600, Size: int64(len(data)), ModTime: now}); err != nil {
				return err
			}
			if _, err := tw.Write(data); err != nil {
				return err
			}
		}
		return errors.Join(tw.Close(), gz.Close())
	}()
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(file)
		return "", fmt.Errorf("operator debug: writing %s: %w", file, err)
	}
	return file, nil
}
