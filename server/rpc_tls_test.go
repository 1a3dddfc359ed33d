package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/internal/tlsutil"
	"github.com/orch-io/orch/internal/tlsutil/tlstest"
	"github.com/orch-io/orch/structs"
)

var tlsOpts = tlsutil.Options{Region: "global", VerifyServerHostname: true}

// tlsConfigs are n server configurations with mutual TLS on the RPC port,
// certificates of ca.
func tlsConfigs(t testing.TB, ca *tlstest.CA, n int) []Config {
	cfgs := make([]Config, n)
	for i := range cfgs {
		cfgs[i] = testConfig(t.TempDir())
		cfgs[i].TLS = ca.Store(cfgs[i].NodeName, tlsutil.RoleServer, tlsOpts)
	}
	return cfgs
}

// callWith makes one RPC to s over a new connection with tlsCfg (nil:
// plain).
func callWith(ctx context.Context, s *Server, tlsCfg *tls.Config, method string, args, reply any) error {
	sess, err := rpcwire.Dial(ctx, s.RPCAddr(), yamux.DefaultConfig(), tlsCfg)
	if err != nil {
		return err
	}
	defer sess.Close()
	return rpcwire.Call(ctx, sess, method, args, reply)
}

// TestTLS_ClusterFormsAndForwards: three servers with mutual TLS form a
// cluster (Raft inside TLS), a write sent to a follower is forwarded to the
// leader over TLS and replicated to every server, and a client certificate
// of the CA can call a server.
func TestTLS_ClusterFormsAndForwards(t *testing.T) {
	ca := tlstest.NewCA(t)
	servers := startClusterOf(t, tlsConfigs(t, ca, 3)...)
	follower := followerOf(servers)
	client := ca.Store("client", tlsutil.RoleClient, tlsOpts)
	var resp structs.JobRegisterResponse
	if err := callWith(t.Context(), follower, client.OutgoingRPC(), "Job.Register",
		&structs.JobRegisterRequest{Job: testJob("over-tls", 0, 64)}, &resp); err != nil {
		t.Fatalf("Job.Register through a follower: %v", err)
	}
	waitFor(t, 10*time.Second, "every server applies the job", func() bool {
		for _, s := range servers {
			if j := s.state.JobByID("default", "over-tls"); j == nil {
				return false
			}
		}
		return true
	})
}

// TestTLS_Refusals: a server with TLS refuses a plain connection, a
// certificate of another CA, and server-only traffic (Raft, forwarded
// requests) from a client's certificate.
func TestTLS_Refusals(t *testing.T) {
	ca := tlstest.NewCA(t)
	cfg := tlsConfigs(t, ca, 1)[0]
	s := startServer(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var leader string

	if err := callWith(ctx, s, nil, "Status.Leader", &structs.GenericRequest{}, &leader); err == nil {
		t.Error("a plain connection was served")
	}

	stranger := tlstest.NewCA(t).Store("stranger", tlsutil.RoleServer, tlsutil.Options{Region: "global"})
	strangerCfg := stranger.OutgoingRPC()
	strangerCfg.VerifyConnection = nil // it would refuse our server; we want the server's refusal
	if err := callWith(ctx, s, strangerCfg, "Status.Leader", &structs.GenericRequest{}, &leader); err == nil {
		t.Error("a certificate of another CA was served")
	}

	client := ca.Store("client", tlsutil.RoleClient, tlsOpts)
	if err := callWith(ctx, s, client.OutgoingRPC(), "Status.Leader", &structs.GenericRequest{}, &leader); err != nil || leader == "" {
		t.Errorf("a client certificate's ordinary call: leader %q, %v", leader, err)
	}
	fwd := &structs.JobRegisterRequest{Job: testJob("posing", 0, 64)}
	fwd.Forwarded = true
	var resp structs.JobRegisterResponse
	err := callWith(ctx, s, client.OutgoingRPC(), "Job.Register", fwd, &resp)
	if !errors.Is(err, structs.ErrPermissionDenied) {
		t.Errorf("a forwarded request with a client certificate: %v, want permission denied", err)
	}
	if j := s.state.JobByID("default", "posing"); j != nil {
		t.Error("the refused forwarded write was applied")
	}

	// Raft: a connection the server refuses is closed at once; one it took
	// would wait for a Raft request (and this read for the deadline).
	conn, err := rpcwire.DialConn(ctx, s.RPCAddr(), structs.RPCTypeRaft, client.OutgoingRPC())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("Raft connection with a client certificate: read %v, want EOF (closed by the server)", err)
	}
	// The same with a server certificate is taken by Raft.
	peerSrv := ca.Store("other-server", tlsutil.RoleServer, tlsOpts)
	conn2, err := rpcwire.DialConn(ctx, s.RPCAddr(), structs.RPCTypeRaft, peerSrv.OutgoingRPC())
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	_ = conn2.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := conn2.Read(make([]byte, 1)); !isTimeout(err) {
		t.Errorf("Raft connection with a server certificate: read %v, want a timeout (kept open)", err)
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// TestTLS_RPCUpgradeMode: without rpc_upgrade_mode a server with TLS refuses
// plain connections (RPC and Raft); with it (either upgrade mode) it serves
// both, and a plain peer may send Raft even with verify_server_hostname.
func TestTLS_RPCUpgradeMode(t *testing.T) {
	ca := tlstest.NewCA(t)
	client := ca.Store("client", tlsutil.RoleClient, tlsOpts)
	for _, tc := range []struct {
		mode     RPCTLSMode
		plainOK  bool
		name     string
		dialsTLS bool
	}{
		{RPCTLSRequire, false, "require", true},
		{RPCTLSUpgrade, true, "upgrade", true},
		{RPCTLSAccept, true, "accept", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tlsConfigs(t, ca, 1)[0]
			cfg.RPCTLSMode = tc.mode
			s := startServer(t, cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var leader string
			if err := callWith(ctx, s, client.OutgoingRPC(), "Status.Leader", &structs.GenericRequest{}, &leader); err != nil || leader == "" {
				t.Errorf("TLS call: leader %q, %v", leader, err)
			}
			leader = ""
			err := callWith(ctx, s, nil, "Status.Leader", &structs.GenericRequest{}, &leader)
			if tc.plainOK && (err != nil || leader == "") {
				t.Errorf("plain call: leader %q, %v; want served", leader, err)
			}
			if !tc.plainOK && err == nil {
				t.Error("plain call served; want refused")
			}

			conn, err := rpcwire.DialConn(ctx, s.RPCAddr(), structs.RPCTypeRaft, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			wait := 200 * time.Millisecond // a kept connection: the read times out
			if !tc.plainOK {
				wait = 10 * time.Second // a refused one: EOF at once
			}
			_ = conn.SetReadDeadline(time.Now().Add(wait))
			_, err = conn.Read(make([]byte, 1))
			if tc.plainOK && !isTimeout(err) {
				t.Errorf("plain Raft connection: read %v, want a timeout (kept open)", err)
			}
			if !tc.plainOK && !errors.Is(err, io.EOF) {
				t.Errorf("plain Raft connection: read %v, want EOF (refused)", err)
			}
			if got := s.outgoingTLS() != nil; got != tc.dialsTLS {
				t.Errorf("dials with TLS: %v, want %v", got, tc.dialsTLS)
			}
		})
	}
}

// TestTLS_MigrationSteps: a running cluster moves to TLS one server at a
// time through the modes (none → accept → upgrade → require), so at every
// step two neighbouring modes share the cluster. Each such mixed cluster
// forms, and a write sent to each server reaches every server.
func TestTLS_MigrationSteps(t *testing.T) {
	ca := tlstest.NewCA(t)
	const none = RPCTLSMode(-1)
	for _, step := range []struct {
		name      string
		old, next RPCTLSMode
	}{
		{"plain-to-accept", none, RPCTLSAccept},
		{"accept-to-upgrade", RPCTLSAccept, RPCTLSUpgrade},
		{"upgrade-to-require", RPCTLSUpgrade, RPCTLSRequire},
	} {
		t.Run(step.name, func(t *testing.T) {
			cfgs := tlsConfigs(t, ca, 3)
			for i := range cfgs {
				mode := step.next
				if i == 0 {
					mode = step.old
				}
				if mode == none {
					cfgs[i].TLS = nil
				} else {
					cfgs[i].RPCTLSMode = mode
				}
			}
			servers := startClusterOf(t, cfgs...)
			for i, s := range servers {
				id := fmt.Sprintf("via-%d", i)
				var resp structs.JobRegisterResponse
				if err := s.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: testJob(id, 0, 64)}, &resp); err != nil {
					t.Fatalf("Job.Register through server %d (leader %v): %v", i, s.IsLeader(), err)
				}
				waitFor(t, 10*time.Second, "every server applies "+id, func() bool {
					for _, s := range servers {
						if s.state.JobByID("default", id) == nil {
							return false
						}
					}
					return true
				})
			}
		})
	}
}
