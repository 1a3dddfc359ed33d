package agent_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/structstest"
)

// lockedBuffer is a log sink the agent's goroutines write concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}

// TestFollowARequestThroughTheLogs registers a job with a request ID and
// checks that grepping the agent's log for it finds every step from the
// API to the task starting: the HTTP request, the register, the Raft apply,
// the broker, the worker, the plan applier, the client's allocation and its
// task.
func TestFollowARequestThroughTheLogs(t *testing.T) {
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := agenttest.Start(t, agenttest.Options{Client: true, Logger: logger})
	const id = "follow-me-0001"
	req, err := http.NewRequest("PUT", a.URL+"/v1/jobs", strings.NewReader(jobBody(t, structstest.Job("follow"))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Orch-Request-ID", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("register: %s", resp.Status)
	}
	waitRunning(t, a, "follow")

	// Each step: the message of a log line that must carry the request ID.
	steps := []string{"http request", "job registered", "write applied", "eval enqueued", "eval dequeued",
		"plan committed", "evaluation processed", "task started"}
	err = agenttest.WaitFor(10*time.Second, func() (bool, string) {
		seen := map[string]bool{}
		for _, line := range logs.lines() {
			if !bytes.Contains(line, []byte(id)) {
				continue
			}
			var rec map[string]any
			if err := json.Unmarshal(line, &rec); err != nil {
				return false, err.Error()
			}
			if rec["request_id"] == id {
				seen[rec["msg"].(string)] = true
			}
		}
		for _, s := range steps {
			if !seen[s] {
				return false, "no log line " + s + " with request_id " + id + "; seen: " + strings.Join(keys(seen), ", ")
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
