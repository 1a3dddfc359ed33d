package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
)

// GET /v1/operator/autopilot/health answers 429 with its body when a server
// is unhealthy, as Nomad's: on three servers, a last-contact threshold of
// 1ns set over HTTP makes the followers unhealthy from the leader's next autopilot pass, and a sane one
// makes it healthy again, without a restart. The api client reads the 429
// body as a reply.
func TestAutopilotHealthAnswers429WhenUnhealthy(t *testing.T) {
	var agents []*Agent
	var join []string
	for i := range 3 {
		cfg := DefaultConfig()
		cfg.DataDir, cfg.BindAddr, cfg.NodeName = t.TempDir(), "127.0.0.1", fmt.Sprintf("autopilot-%d", i)
		cfg.Ports = testPorts(t)
		cfg.Server = ServerConfig{Enabled: true, BootstrapExpect: 3}
		if i == 0 {
			join = []string{fmt.Sprintf("127.0.0.1:%d", cfg.Ports.Serf)}
		} else {
			cfg.ServerJoin.RetryJoin = join
		}
		agents = append(agents, startTestAgent(t, cfg))
	}
	health := func() (int, *api.OperatorHealthReply) {
		t.Helper()
		resp, err := http.Get(agents[1].HTTPURL() + "/v1/operator/autopilot/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var h api.OperatorHealthReply
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusTooManyRequests {
			return resp.StatusCode, nil
		}
		if err := json.Unmarshal(body, &h); err != nil {
			t.Fatalf("health body %s: %v", body, err)
		}
		return resp.StatusCode, &h
	}
	put := func(body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, agents[1].HTTPURL()+"/v1/operator/autopilot/configuration", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(out)) != "true" {
			t.Fatalf("PUT %s: %d %s", body, resp.StatusCode, out)
		}
	}
	waitUntil(t, 30*time.Second, "three servers, all healthy (200)", func() bool {
		code, h := health()
		return code == http.StatusOK && h.Healthy && len(h.Servers) == 3
	})

	put(`{"CleanupDeadServers": true, "LastContactThreshold": "1ns"}`)
	var h *api.OperatorHealthReply
	waitUntil(t, 30*time.Second, "429: the followers have not heard from the leader within 1ns", func() bool {
		var code int
		code, h = health()
		return code == http.StatusTooManyRequests
	})
	if h.Healthy || h.FailureTolerance != 0 || len(h.Servers) != 3 {
		t.Fatalf("429 body: %+v", h)
	}
	for _, s := range h.Servers {
		if s.Leader != s.Healthy || s.SerfStatus != "alive" {
			t.Errorf("server %s (%s): leader %v healthy %v serf %s; want only the leader healthy, both alive", s.Name, s.ID, s.Leader, s.Healthy, s.SerfStatus)
		}
	}
	client, err := api.NewClient(&api.Config{Address: agents[0].HTTPURL()})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, err := client.Operator().AutopilotServerHealth(nil); err != nil || r.Healthy || len(r.Servers) != 3 {
		t.Errorf("api client on a 429: %+v %v; want the unhealthy reply, no error", r, err)
	}

	put(`{"CleanupDeadServers": true, "LastContactThreshold": "10s"}`)
	waitUntil(t, 30*time.Second, "200 again with a 10s threshold", func() bool {
		code, h := health()
		return code == http.StatusOK && h.Healthy
	})
}
