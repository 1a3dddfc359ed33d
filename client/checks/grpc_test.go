package checks

import (
	"context"
	"crypto/tls"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// startHealthServer serves the standard gRPC health service (grpc-go's own)
// on a loopback port, in TLS with cert when given; it returns the address
// and the service to set statuses on.
func startHealthServer(t *testing.T, cert *tls.Certificate) (string, *health.Server) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}})))
	}
	srv := grpc.NewServer(opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return l.Addr().String(), hs
}

func grpcCheck(addr, service string, useTLS, skipVerify bool) *target {
	return &target{addr: addr, check: &structs.ServiceCheck{Name: "g", Type: structs.CheckTypeGRPC, GRPCService: service,
		GRPCUseTLS: useTLS, TLSSkipVerify: skipVerify, Interval: time.Second, Timeout: 2 * time.Second}}
}

// grpc checks against grpc-go's health server: SERVING passes; NOT_SERVING,
// an unknown service, a closed port, and TLS without trust fail; TLS with
// tls_skip_verify passes.
func TestGRPCCheckAgainstARealHealthServer(t *testing.T) {
	addr, hs := startHealthServer(t, nil)
	hs.SetServingStatus("api", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("db", healthpb.HealthCheckResponse_NOT_SERVING)
	ctx := context.Background()
	for _, tc := range []struct {
		name, service string
		want, output  string
	}{
		{"the server as a whole", "", structs.CheckStatusPassing, "SERVING"},
		{"a serving service", "api", structs.CheckStatusPassing, `service "api": SERVING`},
		{"a service not serving", "db", structs.CheckStatusCritical, "NOT_SERVING"},
		{"an unknown service", "nope", structs.CheckStatusCritical, "gRPC status 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := probe(ctx, nil, grpcCheck(addr, tc.service, false, false), time.Now)
			if r.status != tc.want || !strings.Contains(r.output, tc.output) {
				t.Fatalf("%s: %q, want %s with %q", tc.service, r.output, tc.want, tc.output)
			}
		})
	}
	hs.SetServingStatus("api", healthpb.HealthCheckResponse_NOT_SERVING)
	if r := probe(ctx, nil, grpcCheck(addr, "api", false, false), time.Now); r.status != structs.CheckStatusCritical {
		t.Fatalf("after the service stopped serving: %q", r.output)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	if r := probe(ctx, nil, grpcCheck(closed, "", false, false), time.Now); r.status != structs.CheckStatusCritical {
		t.Fatalf("a closed port: %q", r.output)
	}

	// httptest's self-signed certificate, for 127.0.0.1.
	https := httptest.NewTLSServer(nil)
	cert := https.TLS.Certificates[0]
	https.Close()
	tlsAddr, _ := startHealthServer(t, &cert)
	if r := probe(ctx, nil, grpcCheck(tlsAddr, "", true, false), time.Now); r.status != structs.CheckStatusCritical || !strings.Contains(r.output, "certificate") {
		t.Fatalf("TLS with an unknown CA, verified: %q", r.output)
	}
	if r := probe(ctx, nil, grpcCheck(tlsAddr, "", true, true), time.Now); r.status != structs.CheckStatusPassing {
		t.Fatalf("TLS with tls_skip_verify: %q", r.output)
	}
	if r := probe(ctx, nil, grpcCheck(tlsAddr, "", false, false), time.Now); r.status != structs.CheckStatusCritical {
		t.Fatalf("plaintext to a TLS server: %q", r.output)
	}
}
