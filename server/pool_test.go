package server

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/structs"
)

// poolSession returns p's session to addr, or nil.
func poolSession(p *connPool, addr string) *yamux.Session {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessions[addr]
}

// A forwarded call abandoned by its caller (a node that hung up) closes its
// stream, not the session, which carries every other call this server
// forwards to that one; a call whose deadline passes with nothing answered
// on the session meanwhile drops it (the server is not answering).
func TestConnPoolDropsOnlySessionsThatStopAnswering(t *testing.T) {
	cfg := testConfig(t.TempDir())
	held := make(chan string, 16)
	cfg.testHooks.rpcReceived = func(ctx context.Context, method string) {
		if method == "Job.List" { // a server that holds this call until its caller leaves
			held <- method
			<-ctx.Done()
		}
	}
	s := startServer(t, cfg)
	p := newConnPool(testLogger(), func() *tls.Config { return nil })
	t.Cleanup(p.Close)
	addr := s.RPCAddr()
	var leader string
	if err := p.RPC(t.Context(), addr, "Status.Leader", &structs.GenericRequest{}, &leader); err != nil {
		t.Fatal(err)
	}
	sess := poolSession(p, addr)

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- p.RPC(ctx, addr, "Job.List", &structs.JobListRequest{}, &structs.JobListResponse{})
	}()
	<-held
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned call: %v, want context.Canceled", err)
	}
	if got := poolSession(p, addr); got != sess || sess.IsClosed() {
		t.Fatal("the session was dropped with a call its caller abandoned")
	}

	dctx, dcancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer dcancel()
	if err := p.RPC(dctx, addr, "Job.List", &structs.JobListRequest{}, &structs.JobListResponse{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("held call: %v, want its deadline", err)
	}
	if poolSession(p, addr) == sess || !sess.IsClosed() {
		t.Fatal("a session that answered nothing while a call's deadline passed was kept")
	}
	if err := p.RPC(t.Context(), addr, "Status.Leader", &structs.GenericRequest{}, &leader); err != nil {
		t.Fatalf("call after the drop: %v", err)
	}
}
