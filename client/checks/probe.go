package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// maxOutput bounds the output kept of one result.
const maxOutput = 4 << 10

// TaskExecer runs commands in an allocation's tasks (script checks) and
// restarts them (check_restart); the client's allocation runner.
type TaskExecer interface {
	// ExecTask runs cmd in the running task's context (the driver's exec).
	ExecTask(ctx context.Context, task string, cmd []string) (*driver.ExecResult, error)
	// RestartTask restarts the task through its restart policy, recording
	// reason as the event's.
	RestartTask(task, reason string) error
}

// target is where and how one check probes: resolved when the check is
// (re)activated.
type target struct {
	check *structs.ServiceCheck // read only
	addr  string                // host:port for http, tcp
	task  string                // a script check's task
	exec  TaskExecer
}

// probe runs one check within its timeout and returns its raw result.
func probe(ctx context.Context, client *http.Client, t *target, now func() time.Time) result {
	ctx, cancel := context.WithTimeout(ctx, t.check.Timeout)
	defer cancel()
	var r result
	switch t.check.Type {
	case structs.CheckTypeHTTP:
		r = probeHTTP(ctx, client, t)
	case structs.CheckTypeTCP:
		r = probeTCP(ctx, t)
	case structs.CheckTypeGRPC:
		r = probeGRPC(ctx, t)
	case structs.CheckTypeScript:
		r = probeScript(ctx, t)
	default:
		r = result{status: structs.CheckStatusCritical, output: fmt.Sprintf("check type %q is not supported", t.check.Type)}
	}
	r.time = now()
	return r
}

func probeHTTP(ctx context.Context, client *http.Client, t *target) result {
	c := t.check
	url := c.Path
	if !strings.Contains(url, "://") {
		url = c.Protocol + "://" + t.addr + c.Path
	}
	var reqBody io.Reader
	if c.Body != "" {
		reqBody = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, url, reqBody)
	if err != nil {
		return result{status: structs.CheckStatusCritical, output: err.Error()}
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			if strings.EqualFold(k, "Host") {
				req.Host = v
				continue
			}
			req.Header.Add(k, v)
		}
	}
	if c.TLSSkipVerify && c.Protocol == "https" {
		client = insecureClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{status: structs.CheckStatusCritical, output: fmt.Sprintf("HTTP %s %s: %v", c.Method, url, err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	out := fmt.Sprintf("HTTP %s %s: %s Output: %s", c.Method, url, resp.Status, body)
	status := structs.CheckStatusCritical
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		status = structs.CheckStatusPassing
	case resp.StatusCode == http.StatusTooManyRequests:
		status = structs.CheckStatusWarning
	}
	return result{status: status, statusCode: resp.StatusCode, output: out}
}

// insecureClient is for https checks with tls_skip_verify.
var insecureClient = &http.Client{
	Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}, //nolint:gosec // the user asked
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func probeTCP(ctx context.Context, t *target) result {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return result{status: structs.CheckStatusCritical, output: fmt.Sprintf("TCP connect %s: %v", t.addr, err)}
	}
	conn.Close()
	return result{status: structs.CheckStatusPassing, output: fmt.Sprintf("TCP connect %s: Success", t.addr)}
}

// probeScript runs the command in the task: exit 0 passes, 1 warns, any
// other exit (or failing to run it) is critical, as in Nomad.
func probeScript(ctx context.Context, t *target) result {
	if t.exec == nil {
		return result{status: structs.CheckStatusCritical, output: "no task to run the script in"}
	}
	res, err := t.exec.ExecTask(ctx, t.task, append([]string{t.check.Command}, t.check.Args...))
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return result{status: structs.CheckStatusCritical, output: fmt.Sprintf("script timed out after %v", t.check.Timeout)}
	case err != nil:
		return result{status: structs.CheckStatusCritical, output: err.Error()}
	}
	out := string(res.Stdout) + string(res.Stderr)
	if len(out) > maxOutput {
		out = out[:maxOutput]
	}
	status := structs.CheckStatusCritical
	switch res.ExitCode {
	case 0:
		status = structs.CheckStatusPassing
	case 1:
		status = structs.CheckStatusWarning
	}
	return result{status: status, output: strings.TrimSpace(out) + " (exit " + strconv.Itoa(res.ExitCode) + ")"}
}

// newHTTPClient is the client of every http check of a runner: redirects
// are not followed (a 3xx fails the check, as in Nomad), connections are
// not kept (a thousand checks must not hold a thousand sockets).
func newHTTPClient() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
