package agent_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/structs"
)

// TestAgentPprofACL: with ACLs on, /v1/agent/pprof/heap is refused (403)
// without a token and with a token lacking agent:write, and answered for a
// management token and an agent-write policy, on this agent and on the
// agents reached through node_id and server_id. That holds with enable_debug
// off too: Nomad's rule ("agent:write, or enable_debug" — enable_debug is
// what opens the profiles when ACLs are off).
func TestAgentPprofACL(t *testing.T) {
	for _, enableDebug := range []bool{true, false} {
		t.Run(fmt.Sprintf("enable_debug=%v", enableDebug), func(t *testing.T) {
			a := agenttest.Start(t, agenttest.Options{ACL: true, Client: true,
				Configure: func(c *agent.Config) { c.EnableDebug = enableDebug }})
			policies := map[string]string{
				"agent-read":  `agent { policy = "read" }`,
				"agent-write": `agent { policy = "write" }`,
				"ns-write":    `namespace "default" { policy = "write" }` + "\nnode { policy = \"write\" }\noperator { policy = \"write\" }",
			}
			tokens := map[string]string{"none": "", "management": a.ManagementToken}
			for name, rules := range policies {
				if err := a.API.ACL().PolicyUpsert(&structs.ACLPolicy{Name: name, Rules: rules}); err != nil {
					t.Fatal(err)
				}
				tok, _ := tokenClient(t, a, name)
				tokens[name] = tok.SecretID
			}
			allowed := map[string]bool{"management": true, "agent-write": true}
			targets := map[string]string{"local": "", "node_id": "&node_id=" + a.NodeID, "server_id": "&server_id=leader"}
			for who, secret := range tokens {
				for target, param := range targets {
					code, body := getWithToken(t, a.URL+"/v1/agent/pprof/heap?debug=1"+param, secret)
					switch {
					case allowed[who] && (code != http.StatusOK || !strings.Contains(body, "heap profile:")):
						t.Errorf("%s, %s: %d %.120q, want 200 and a heap profile", who, target, code, body)
					case !allowed[who] && code != http.StatusForbidden:
						t.Errorf("%s, %s: %d %.120q, want 403", who, target, code, body)
					}
				}
			}
			// A node the servers do not know: not found, for a token that
			// may profile (the lookup is the servers', not the caller's).
			if code, body := getWithToken(t, a.URL+"/v1/agent/pprof/heap?node_id=6f1c1c5e-0000-4000-8000-000000000000", tokens["agent-write"]); code != http.StatusNotFound || !strings.Contains(body, "not found") {
				t.Errorf("unknown node_id: %d %.120q, want 404 not found", code, body)
			}
			// The monitor of a node needs agent:read only, not node:read.
			for who, want := range map[string]int{"agent-read": http.StatusOK, "ns-write": http.StatusForbidden} {
				ctx, cancel := context.WithCancel(t.Context())
				req, _ := http.NewRequestWithContext(ctx, "GET", a.URL+"/v1/agent/monitor?node_id="+a.NodeID, nil)
				req.Header.Set(agent.HeaderNomadToken, tokens[who])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != want {
					t.Errorf("%s, monitor of node_id: %s, want %d", who, resp.Status, want)
				}
				cancel()
				resp.Body.Close()
			}
		})
	}
}

// getWithToken GETs url with secret as X-Nomad-Token ("" sends none) and
// returns the status and body.
func getWithToken(t *testing.T, url, secret string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set(agent.HeaderNomadToken, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b.String()
}
