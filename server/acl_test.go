package server

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func startACLServer(t *testing.T) (*Server, string) {
	t.Helper()
	cfg := testConfig(t.TempDir())
	cfg.ACLEnabled = true
	s := startServer(t, cfg)
	var boot structs.ACLTokenUpsertResponse
	if err := s.RPC(t.Context(), "ACL.Bootstrap", &structs.ACLTokenBootstrapRequest{}, &boot); err != nil {
		t.Fatalf("ACL.Bootstrap: %v", err)
	}
	return s, boot.Tokens[0].SecretID
}

// aclToken creates a policy named after the test and a client token of it.
func aclToken(t *testing.T, s *Server, mgmt, name, rules string) *structs.ACLToken {
	t.Helper()
	var gr structs.GenericResponse
	if err := s.RPC(t.Context(), "ACL.UpsertPolicies", &structs.ACLPolicyUpsertRequest{
		Policies: []*structs.ACLPolicy{{Name: name, Rules: rules}}, WriteRequest: structs.WriteRequest{AuthToken: mgmt},
	}, &gr); err != nil {
		t.Fatalf("upserting policy %s: %v", name, err)
	}
	var tr structs.ACLTokenUpsertResponse
	if err := s.RPC(t.Context(), "ACL.UpsertTokens", &structs.ACLTokenUpsertRequest{
		Tokens: []*structs.ACLToken{{Name: name, Type: structs.ACLClientToken, Policies: []string{name}}}, WriteRequest: structs.WriteRequest{AuthToken: mgmt},
	}, &tr); err != nil {
		t.Fatalf("creating token %s: %v", name, err)
	}
	return tr.Tokens[0]
}

func denied(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("%s: err = %v, want permission denied", what, err)
	}
}

func TestEveryRPCMethodHasAnACLRule(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	for name := range s.endpoints.methods {
		if _, ok := rpcRules[name]; !ok {
			t.Errorf("RPC method %s has no ACL rule: declare who may call it in rpcRules (server/acl_rpc.go)", name)
		}
	}
	for name := range rpcRules {
		if _, ok := s.endpoints.methods[name]; !ok {
			t.Errorf("rpcRules names %s, which is not an RPC method", name)
		}
	}
}

func TestACLTokensGateEveryCall(t *testing.T) {
	s, mgmt := startACLServer(t)
	ctx := t.Context()
	w := func(tok string) structs.WriteRequest { return structs.WriteRequest{AuthToken: tok} }
	q := func(tok string) structs.QueryOptions { return structs.QueryOptions{AuthToken: tok} }

	// Anonymous and unknown tokens may do nothing.
	var jr structs.JobRegisterResponse
	denied(t, "anonymous register", s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: testJob("web", 1, 64)}, &jr))
	denied(t, "unknown token", s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: testJob("web", 1, 64), WriteRequest: w(structs.GenerateUUID())}, &jr))
	denied(t, "unknown token, register without a job", s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{WriteRequest: w(structs.GenerateUUID())}, &jr))
	denied(t, "unknown token, plan without a job", s.RPC(ctx, "Job.Plan", &structs.JobPlanRequest{WriteRequest: w(structs.GenerateUUID())}, &structs.JobPlanResponse{}))
	var nl structs.NodeListResponse
	denied(t, "anonymous node list", s.RPC(ctx, "Node.List", &structs.NodeListRequest{}, &nl))
	var leader string
	if err := s.RPC(ctx, "Status.Leader", &structs.GenericRequest{}, &leader); err != nil {
		t.Fatalf("Status.Leader is open: %v", err)
	}

	// The management token may do everything.
	if err := s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: testJob("web", 1, 64), WriteRequest: w(mgmt)}, &jr); err != nil {
		t.Fatalf("management register: %v", err)
	}
	if err := s.RPC(ctx, "Namespace.UpsertNamespaces", &structs.NamespaceUpsertRequest{
		Namespaces: []*structs.Namespace{{Name: "prod"}}, WriteRequest: w(mgmt)}, &structs.GenericResponse{}); err != nil {
		t.Fatalf("management creates a namespace: %v", err)
	}
	prod := testJob("prod-api", 1, 64)
	prod.Namespace = "prod"
	if err := s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: prod, WriteRequest: w(mgmt)}, &jr); err != nil {
		t.Fatalf("management register in prod: %v", err)
	}

	// A read-only token reads and cannot register.
	ro := aclToken(t, s, mgmt, "readonly", `namespace "default" { policy = "read" }`)
	var sj structs.SingleJobResponse
	if err := s.RPC(ctx, "Job.GetJob", &structs.JobSpecificRequest{JobID: "web", QueryOptions: q(ro.SecretID)}, &sj); err != nil || sj.Job == nil {
		t.Fatalf("read-only token reads a default job: %v", err)
	}
	denied(t, "read-only register", s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: testJob("web2", 1, 64), WriteRequest: w(ro.SecretID)}, &jr))
	denied(t, "read-only deregister", s.RPC(ctx, "Job.Deregister", &structs.JobDeregisterRequest{JobID: "web", WriteRequest: w(ro.SecretID)}, &structs.JobDeregisterResponse{}))

	// Another namespace's job is out of reach; in the request's namespace
	// there is no such job.
	inProd := q(ro.SecretID)
	inProd.Namespace = "prod"
	denied(t, "read a prod job", s.RPC(ctx, "Job.GetJob", &structs.JobSpecificRequest{JobID: "prod-api", QueryOptions: inProd}, &sj))
	if err := s.RPC(ctx, "Job.GetJob", &structs.JobSpecificRequest{JobID: "prod-api", QueryOptions: q(ro.SecretID)}, &sj); err != nil || sj.Job != nil {
		t.Fatalf("prod's job read in default: %+v, %v; want none", sj.Job, err)
	}
	denied(t, "list prod's jobs", s.RPC(ctx, "Job.List", &structs.JobListRequest{QueryOptions: inProd}, &structs.JobListResponse{}))
	all := q(ro.SecretID)
	all.Namespace = structs.AllNamespaces
	var every structs.JobListResponse
	if err := s.RPC(ctx, "Job.List", &structs.JobListRequest{QueryOptions: all}, &every); err != nil {
		t.Fatal(err)
	}
	if len(every.Jobs) != 1 || every.Jobs[0].ID != "web" {
		t.Fatalf("the list of every namespace shows only those the token reads: %+v", every.Jobs)
	}
	var list structs.JobListResponse
	if err := s.RPC(ctx, "Job.List", &structs.JobListRequest{QueryOptions: q(ro.SecretID)}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Jobs) != 1 || list.Jobs[0].ID != "web" {
		t.Fatalf("the list shows only the default namespace's jobs: %+v", list.Jobs)
	}
	// A token that may write in default cannot write prod's job, whether
	// the job or the request names prod.
	dev := aclToken(t, s, mgmt, "dev", `namespace "default" { policy = "write" }`)
	hijack := testJob("prod-api", 1, 64)
	hijack.Namespace = "prod"
	denied(t, "register in another namespace", s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: hijack, WriteRequest: w(dev.SecretID)}, &jr))
	wProd := w(dev.SecretID)
	wProd.Namespace = "prod"
	denied(t, "stop another namespace's job", s.RPC(ctx, "Job.Deregister", &structs.JobDeregisterRequest{JobID: "prod-api", WriteRequest: wProd}, &structs.JobDeregisterResponse{}))

	// Only management manages ACLs.
	denied(t, "client token lists tokens", s.RPC(ctx, "ACL.ListTokens", &structs.GenericRequest{QueryOptions: q(dev.SecretID)}, &structs.ACLTokenListResponse{}))
	var self structs.SingleACLTokenResponse
	if err := s.RPC(ctx, "ACL.GetTokenSelf", &structs.GenericRequest{QueryOptions: q(dev.SecretID)}, &self); err != nil || self.Token.AccessorID != dev.AccessorID {
		t.Fatalf("token self: %v", err)
	}

	// A deleted token stops working at once on this server.
	if err := s.RPC(ctx, "ACL.DeleteTokens", &structs.ACLTokenDeleteRequest{AccessorIDs: []string{ro.AccessorID}, WriteRequest: w(mgmt)}, &structs.GenericResponse{}); err != nil {
		t.Fatal(err)
	}
	denied(t, "revoked token", s.RPC(ctx, "Job.GetJob", &structs.JobSpecificRequest{JobID: "web", QueryOptions: q(ro.SecretID)}, &sj))

	// The anonymous policy, once it exists, applies to requests without a token.
	aclToken(t, s, mgmt, structs.AnonymousPolicy, `namespace "default" { policy = "read" }`)
	if err := s.RPC(ctx, "Job.GetJob", &structs.JobSpecificRequest{JobID: "web"}, &sj); err != nil {
		t.Fatalf("anonymous read with an anonymous policy: %v", err)
	}
}

func TestACLTokenExpires(t *testing.T) {
	s, mgmt := startACLServer(t)
	var gr structs.GenericResponse
	if err := s.RPC(t.Context(), "ACL.UpsertPolicies", &structs.ACLPolicyUpsertRequest{
		Policies: []*structs.ACLPolicy{{Name: "nodes", Rules: `node { policy = "read" }`}}, WriteRequest: structs.WriteRequest{AuthToken: mgmt},
	}, &gr); err != nil {
		t.Fatal(err)
	}
	var tr structs.ACLTokenUpsertResponse
	if err := s.RPC(t.Context(), "ACL.UpsertTokens", &structs.ACLTokenUpsertRequest{
		Tokens:       []*structs.ACLToken{{Type: structs.ACLClientToken, Policies: []string{"nodes"}, ExpirationTTL: time.Millisecond}},
		WriteRequest: structs.WriteRequest{AuthToken: mgmt},
	}, &tr); err != nil {
		t.Fatal(err)
	}
	tok := tr.Tokens[0]
	if tok.ExpirationTime == nil || !tok.ExpirationTime.Equal(tok.CreateTime.Add(time.Millisecond)) {
		t.Fatalf("expiration %v, created %v", tok.ExpirationTime, tok.CreateTime)
	}
	waitFor(t, 5*time.Second, "the token's expiry passes", func() bool { return tok.Expired(time.Now()) })
	denied(t, "expired token", s.RPC(t.Context(), "Node.List", &structs.NodeListRequest{QueryOptions: structs.QueryOptions{AuthToken: tok.SecretID}}, &structs.NodeListResponse{}))
}

func TestACLClientsActForTheirOwnNodeOnly(t *testing.T) {
	s, _ := startACLServer(t)
	ctx := t.Context()
	a, b := testNode(), testNode()
	for _, n := range []*structs.Node{a, b} {
		req := &structs.NodeRegisterRequest{Node: n, WriteRequest: structs.WriteRequest{AuthToken: n.SecretID}}
		if err := s.RPC(ctx, "Node.Register", req, &structs.NodeUpdateResponse{}); err != nil {
			t.Fatalf("a new node registers with its secret: %v", err)
		}
	}
	hb := func(id, secret string) error {
		return s.RPC(ctx, "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: id, SecretID: secret,
			WriteRequest: structs.WriteRequest{AuthToken: secret}}, &structs.NodeUpdateResponse{})
	}
	if err := hb(a.ID, a.SecretID); err != nil {
		t.Fatalf("own heartbeat: %v", err)
	}
	denied(t, "heartbeat for another node", hb(b.ID, a.SecretID))
	denied(t, "re-register another node", s.RPC(ctx, "Node.Register",
		&structs.NodeRegisterRequest{Node: b, WriteRequest: structs.WriteRequest{AuthToken: a.SecretID}}, &structs.NodeUpdateResponse{}))
	denied(t, "watch another node's allocations", s.RPC(ctx, "Node.GetClientAllocs",
		&structs.NodeSpecificRequest{NodeID: b.ID, SecretID: b.SecretID, QueryOptions: structs.QueryOptions{AuthToken: a.SecretID}}, &structs.NodeClientAllocsResponse{}))
	// A node secret is no ACL token.
	denied(t, "node secret lists nodes", s.RPC(ctx, "Node.List", &structs.NodeListRequest{QueryOptions: structs.QueryOptions{AuthToken: a.SecretID}}, &structs.NodeListResponse{}))
}

func TestACLBootstrapOnceAndReset(t *testing.T) {
	s, _ := startACLServer(t)
	var boot structs.ACLTokenUpsertResponse
	err := s.RPC(t.Context(), "ACL.Bootstrap", &structs.ACLTokenBootstrapRequest{}, &boot)
	if !errors.Is(err, structs.ErrInvalid) {
		t.Fatalf("second bootstrap: %v", err)
	}
	index := s.state.Snapshot().ACLBootstrapIndex()
	reset := filepath.Join(s.config.DataDir, "server", ACLBootstrapResetFile)
	if err := os.WriteFile(reset, []byte(strconv.FormatUint(index+1, 10)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.RPC(t.Context(), "ACL.Bootstrap", &structs.ACLTokenBootstrapRequest{}, &boot); !errors.Is(err, structs.ErrInvalid) {
		t.Fatalf("bootstrap with a wrong reset index: %v", err)
	}
	if err := os.WriteFile(reset, []byte(strconv.FormatUint(index, 10)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.RPC(t.Context(), "ACL.Bootstrap", &structs.ACLTokenBootstrapRequest{}, &boot); err != nil {
		t.Fatalf("bootstrap after a reset: %v", err)
	}
	if len(s.state.Snapshot().ACLTokens()) != 2 {
		t.Fatal("the reset bootstrap adds a management token")
	}
}

func TestACLPolicyRulesAreValidated(t *testing.T) {
	s, mgmt := startACLServer(t)
	err := s.RPC(t.Context(), "ACL.UpsertPolicies", &structs.ACLPolicyUpsertRequest{
		Policies:     []*structs.ACLPolicy{{Name: "bad", Rules: `namespace "default" { policy = "admin" }`}},
		WriteRequest: structs.WriteRequest{AuthToken: mgmt},
	}, &structs.GenericResponse{})
	if !errors.Is(err, structs.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{`policy "bad"`, `bad:1:1`, `policy = "admin"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// BenchmarkACLAuthorizeCached is the cost of the ACL check of one RPC whose
// token is in the cache.
func BenchmarkACLAuthorizeCached(b *testing.B) {
	cfg := testConfig(b.TempDir())
	cfg.ACLEnabled = true
	s := startServer(b, cfg)
	var boot structs.ACLTokenUpsertResponse
	if err := s.RPC(b.Context(), "ACL.Bootstrap", &structs.ACLTokenBootstrapRequest{}, &boot); err != nil {
		b.Fatal(err)
	}
	mgmt := boot.Tokens[0].SecretID
	if err := s.RPC(b.Context(), "ACL.UpsertPolicies", &structs.ACLPolicyUpsertRequest{
		Policies: []*structs.ACLPolicy{{Name: "r", Rules: `namespace "default" { policy = "read" }`}}, WriteRequest: structs.WriteRequest{AuthToken: mgmt},
	}, &structs.GenericResponse{}); err != nil {
		b.Fatal(err)
	}
	var tr structs.ACLTokenUpsertResponse
	if err := s.RPC(b.Context(), "ACL.UpsertTokens", &structs.ACLTokenUpsertRequest{
		Tokens: []*structs.ACLToken{{Type: structs.ACLClientToken, Policies: []string{"r"}}}, WriteRequest: structs.WriteRequest{AuthToken: mgmt},
	}, &tr); err != nil {
		b.Fatal(err)
	}
	args := &structs.JobSpecificRequest{JobID: "web", QueryOptions: structs.QueryOptions{AuthToken: tr.Tokens[0].SecretID}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.authorizeRPC(b.Context(), "Job.GetJob", args); err != nil {
			b.Fatal(err)
		}
	}
}

// TestACLClientCallsNeedTheirCapability: Server.DialNode lets a client call
// through only for a token with the method's capability (Nomad's read-fs,
// read-logs, alloc-lifecycle) in the allocation's namespace.
func TestACLClientCallsNeedTheirCapability(t *testing.T) {
	s, mgmt := startACLServer(t)
	node := testNode()
	fakeClientAgent(t, s, node)
	job := storeJobUnscheduled(t, s, testJob("web", 1, 64))
	alloc, _ := placeAlloc(t, s, job, node.ID)
	logs := aclToken(t, s, mgmt, "logs", `namespace "default" { capabilities = ["read-logs"] }`)
	elsewhere := aclToken(t, s, mgmt, "elsewhere", `namespace "prod" { policy = "write" }`)

	dial := func(secret, method string) error {
		conn, err := s.DialNode(t.Context(), &structs.DialNodeRequest{NodeID: node.ID, AllocID: alloc.ID, Method: method, AuthToken: secret})
		if err == nil {
			conn.Close()
		}
		return err
	}
	for _, m := range []string{structs.ClientFSList, structs.ClientFSLogs, structs.ClientAllocSignal} {
		if err := dial(mgmt, m); err != nil {
			t.Errorf("management token, %s: %v", m, err)
		}
		denied(t, "anonymous "+m, dial("", m))
		denied(t, "a token of another namespace, "+m, dial(elsewhere.SecretID, m))
	}
	if err := dial(logs.SecretID, structs.ClientFSLogs); err != nil {
		t.Errorf("read-logs token, logs: %v", err)
	}
	denied(t, "read-logs token, fs", dial(logs.SecretID, structs.ClientFSCat))
	denied(t, "read-logs token, restart", dial(logs.SecretID, structs.ClientAllocRestart))
	denied(t, "read-logs token, exec", dial(logs.SecretID, structs.ClientAllocExec))
	// Exec into a raw_exec task (no file system isolation) is a shell on
	// the node: Nomad asks alloc-node-exec as well, which "write" lacks.
	exec := aclToken(t, s, mgmt, "exec", `namespace "default" { capabilities = ["alloc-exec"] }`)
	writer := aclToken(t, s, mgmt, "writer", `namespace "default" { policy = "write" }`)
	nodeExec := aclToken(t, s, mgmt, "node-exec", `namespace "default" { capabilities = ["alloc-exec", "alloc-node-exec"] }`)
	denied(t, "alloc-exec token, exec into raw_exec", dial(exec.SecretID, structs.ClientAllocExec))
	denied(t, "write policy, exec into raw_exec", dial(writer.SecretID, structs.ClientAllocExec))
	if err := dial(nodeExec.SecretID, structs.ClientAllocExec); err != nil {
		t.Errorf("alloc-exec and alloc-node-exec token, exec into raw_exec: %v", err)
	}
	denied(t, "alloc-exec token, signal", dial(exec.SecretID, structs.ClientAllocSignal))

	// Into an isolated task (exec, docker) alloc-exec is enough.
	isolated := testJob("isolated", 1, 64)
	isolated.TaskGroups[0].Tasks[0].Driver = "docker"
	isolated = storeJobUnscheduled(t, s, isolated)
	isoAlloc, _ := placeAlloc(t, s, isolated, node.ID)
	dialIso := func(secret string) error {
		conn, err := s.DialNode(t.Context(), &structs.DialNodeRequest{NodeID: node.ID, AllocID: isoAlloc.ID, Method: structs.ClientAllocExec, AuthToken: secret})
		if err == nil {
			conn.Close()
		}
		return err
	}
	for _, tok := range []*structs.ACLToken{exec, writer} {
		if err := dialIso(tok.SecretID); err != nil {
			t.Errorf("token %s, exec into a docker task: %v", tok.Name, err)
		}
	}
	denied(t, "read-logs token, exec into a docker task", dialIso(logs.SecretID))
}

// TestACLRolesFollowedAtOnce: a token holding a role may do what the role's
// policies allow, as the role is at each call: an update or a deletion of
// the role takes effect on the next RPC, through the resolution cache, and
// survives a snapshot and restore.
func TestACLRolesFollowedAtOnce(t *testing.T) {
	s, mgmt := startACLServer(t)
	ctx := t.Context()
	w := structs.WriteRequest{AuthToken: mgmt}
	var gr structs.GenericResponse
	if err := s.RPC(ctx, "ACL.UpsertPolicies", &structs.ACLPolicyUpsertRequest{Policies: []*structs.ACLPolicy{
		{Name: "nodes", Rules: `node { policy = "read" }`},
		{Name: "jobs", Rules: `namespace "default" { policy = "read" }`},
	}, WriteRequest: w}, &gr); err != nil {
		t.Fatal(err)
	}
	var rr structs.ACLRoleUpsertResponse
	if err := s.RPC(ctx, "ACL.UpsertRoles", &structs.ACLRoleUpsertRequest{Roles: []*structs.ACLRole{
		{Name: "ops", Policies: []*structs.ACLRolePolicyLink{{Name: "nodes"}}},
	}, WriteRequest: w}, &rr); err != nil {
		t.Fatal(err)
	}
	role := rr.Roles[0]
	var tr structs.ACLTokenUpsertResponse
	if err := s.RPC(ctx, "ACL.UpsertTokens", &structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{
		{Name: "holder", Type: structs.ACLClientToken, Roles: []*structs.ACLTokenRoleLink{{Name: "ops"}}},
	}, WriteRequest: w}, &tr); err != nil {
		t.Fatal(err)
	}
	holder := structs.QueryOptions{AuthToken: tr.Tokens[0].SecretID}
	if l := tr.Tokens[0].Roles; len(l) != 1 || l[0].ID != role.ID || l[0].Name != "ops" {
		t.Fatalf("token role links = %+v, want the role's ID and name", l)
	}
	var nl structs.NodeListResponse
	if err := s.RPC(ctx, "Node.List", &structs.NodeListRequest{QueryOptions: holder}, &nl); err != nil {
		t.Fatalf("the role grants node reads: %v", err)
	}
	var jl structs.SingleJobResponse
	readJob := &structs.JobSpecificRequest{JobID: "web", QueryOptions: holder}
	denied(t, "job read before the update", s.RPC(ctx, "Job.GetJob", readJob, &jl))

	role.Policies = []*structs.ACLRolePolicyLink{{Name: "jobs"}}
	if err := s.RPC(ctx, "ACL.UpsertRoles", &structs.ACLRoleUpsertRequest{Roles: []*structs.ACLRole{role}, WriteRequest: w}, &rr); err != nil {
		t.Fatal(err)
	}
	if err := s.RPC(ctx, "Job.GetJob", readJob, &jl); err != nil {
		t.Fatalf("after the update, the role grants job reads: %v", err)
	}
	denied(t, "node list after the update", s.RPC(ctx, "Node.List", &structs.NodeListRequest{QueryOptions: holder}, &nl))

	// The roles survive a snapshot and restore.
	snap := s.state.Snapshot()
	var buf strings.Builder
	if err := snap.Persist(&stringWriter{&buf}); err != nil {
		t.Fatal(err)
	}
	if err := s.state.Restore(strings.NewReader(buf.String())); err != nil {
		t.Fatal(err)
	}
	if got := s.state.Snapshot().ACLRoleByName("ops"); got == nil || got.ID != role.ID || got.PolicyNames()[0] != "jobs" {
		t.Fatalf("role after restore = %+v", got)
	}

	if err := s.RPC(ctx, "ACL.DeleteRoles", &structs.ACLRoleDeleteRequest{IDs: []string{role.ID}, WriteRequest: w}, &gr); err != nil {
		t.Fatal(err)
	}
	denied(t, "job read after the deletion", s.RPC(ctx, "Job.GetJob", readJob, &jl))
}

type stringWriter struct{ b *strings.Builder }

func (w *stringWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

// TestACLScaleJobScalesWithoutSubmitJob: Job.Scale needs scale-job or
// submit-job in the job's namespace (Nomad's), changes the group's count
// alone, and refuses a stale JobModifyIndex; a scale-job token still cannot
// register a job.
func TestACLScaleJobScalesWithoutSubmitJob(t *testing.T) {
	s, mgmt := startACLServer(t)
	ctx := t.Context()
	var reg structs.JobRegisterResponse
	if err := s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: testJob("web", 1, 64), WriteRequest: structs.WriteRequest{AuthToken: mgmt}}, &reg); err != nil {
		t.Fatal(err)
	}
	scaler := aclToken(t, s, mgmt, "scaler", `namespace "default" { capabilities = ["scale-job"] }`)
	reader := aclToken(t, s, mgmt, "reader", `namespace "default" { policy = "read" }`)
	elsewhere := aclToken(t, s, mgmt, "elsewhere", `namespace "prod" { policy = "write" }`)
	scale := func(secret string, count int, index uint64) error {
		var reply structs.JobRegisterResponse
		return s.RPC(ctx, "Job.Scale", &structs.JobScaleRequest{JobID: "web", Group: "web", Count: count, JobModifyIndex: index,
			WriteRequest: structs.WriteRequest{AuthToken: secret}}, &reply)
	}
	denied(t, "anonymous scale", scale("", 2, 0))
	denied(t, "read policy, scale", scale(reader.SecretID, 2, 0))
	denied(t, "a token of another namespace, scale", scale(elsewhere.SecretID, 2, 0))
	if err := scale(scaler.SecretID, 3, 0); err != nil {
		t.Fatalf("scale-job token, scale: %v", err)
	}
	job := s.state.JobByID("default", "web")
	if got := job.LookupTaskGroup("web").Count; got != 3 || job.Version != 1 {
		t.Errorf("after scaling to 3: count %d, version %d", got, job.Version)
	}
	if err := scale(scaler.SecretID, 1, reg.JobModifyIndex); !errors.Is(err, structs.ErrConflict) {
		t.Errorf("scale with a stale JobModifyIndex: %v, want a conflict", err)
	}
	var rr structs.JobRegisterResponse
	denied(t, "scale-job token, register", s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: testJob("other", 1, 64),
		WriteRequest: structs.WriteRequest{AuthToken: scaler.SecretID}}, &rr))
}
