package agent

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewReportsADamagedDataDir: an agent whose data dir holds a damaged file
// fails to start with an error naming it (and stops what it had started),
// rather than panicking or starting over.
func TestNewReportsADamagedDataDir(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{filepath.Join("server", "server-id"), "server ID file"},
		{filepath.Join("client", "state.db"), "state database"},
	} {
		t.Run(c.file, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, c.file)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(strings.Repeat("garbage!", 1024)), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := DevConfig()
			cfg.DataDir = dir
			cfg.Ports = testPorts(t)
			cfg.Client.EmbeddedSupervisor = true // the test binary is no orch
			a, err := New(cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				a.Shutdown()
				t.Fatalf("the agent started on a damaged %s", path)
			}
			if !strings.Contains(err.Error(), c.want+" "+path+" is unreadable") {
				t.Fatalf("error %q: want it to name the %s %s", err, c.want, path)
			}
		})
	}
}

// testPorts picks ports free on 127.0.0.1: TCP for HTTP and RPC, TCP and UDP
// for gossip.
func testPorts(t *testing.T) Ports {
	t.Helper()
	var got []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for len(got) < 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			continue
		}
		u.Close()
		got = append(got, port)
	}
	return Ports{HTTP: got[0], RPC: got[1], Serf: got[2]}
}
