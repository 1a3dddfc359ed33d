package checks

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/orch-io/orch/structs"
	"golang.org/x/net/http2"
	"google.golang.org/protobuf/encoding/protowire"
)

// grpc checks speak the standard gRPC health checking protocol
// (grpc.health.v1.Health/Check) over one HTTP/2 connection per probe, as a
// minimal client: the request and response are one-field protobuf messages,
// so the whole gRPC library (and its connection pools) is not needed. A
// check passes when the server answers SERVING for grpc_service ("" asks
// about the server as a whole), as in Nomad (and Consul); any other status,
// a gRPC error or a transport error is critical.

// grpcHealthPath is the method the probe calls.
const grpcHealthPath = "/grpc.health.v1.Health/Check"

// grpcServingStatus names the values of HealthCheckResponse.ServingStatus.
var grpcServingStatus = map[uint64]string{0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}

// grpcTransport opens no connections of its own: each probe dials one and
// closes it (a thousand checks must not hold a thousand connections).
var grpcTransport = &http2.Transport{AllowHTTP: true}

func probeGRPC(ctx context.Context, t *target) result {
	c := t.check
	what := "gRPC health " + t.addr
	if c.GRPCService != "" {
		what += " service " + strconv.Quote(c.GRPCService)
	}
	critical := func(format string, args ...any) result {
		return result{status: structs.CheckStatusCritical, output: what + ": " + fmt.Sprintf(format, args...)}
	}
	conn, err := grpcDial(ctx, t.addr, c.GRPCUseTLS, c.TLSSkipVerify)
	if err != nil {
		return critical("%v", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	cc, err := grpcTransport.NewClientConn(conn)
	if err != nil {
		return critical("%v", err)
	}
	defer cc.Close()

	// HealthCheckRequest{service = 1}, in a gRPC message frame: a byte of
	// flags (not compressed), the length, the message.
	msg := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), c.GRPCService)
	if c.GRPCService == "" {
		msg = nil
	}
	body := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(body[1:], uint32(len(msg)))
	body = append(body, msg...)
	scheme := "http"
	if c.GRPCUseTLS {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, (&url.URL{Scheme: scheme, Host: t.addr, Path: grpcHealthPath}).String(), bytes.NewReader(body))
	if err != nil {
		return critical("%v", err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return critical("%v", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	if err != nil {
		return critical("reading the answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return critical("HTTP status %s", resp.Status)
	}
	// grpc-status comes in the trailers, or in the headers of an answer
	// without a body (an error).
	code, msgText := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
	if code == "" {
		code, msgText = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	if code != "0" {
		if m, err := url.PathUnescape(msgText); err == nil {
			msgText = m
		}
		return critical("gRPC status %s %s", code, strings.TrimSpace(msgText))
	}
	status, err := grpcServingStatusOf(reply)
	if err != nil {
		return critical("%v", err)
	}
	name := grpcServingStatus[status]
	if name == "" {
		name = strconv.FormatUint(status, 10)
	}
	if name != "SERVING" {
		return critical("%s", name)
	}
	return result{status: structs.CheckStatusPassing, output: what + ": " + name}
}

// grpcDial connects to addr, inside TLS (ALPN h2) when useTLS.
func grpcDial(ctx context.Context, addr string, useTLS, skipVerify bool) (net.Conn, error) {
	if !useTLS {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	host, _, _ := net.SplitHostPort(addr)
	d := tls.Dialer{Config: &tls.Config{ServerName: host, NextProtos: []string{"h2"}, InsecureSkipVerify: skipVerify}} //nolint:gosec // the user asked
	return d.DialContext(ctx, "tcp", addr)
}

// grpcServingStatusOf reads HealthCheckResponse.status out of one gRPC
// message frame (an absent field is 0, UNKNOWN, as protobuf has it).
func grpcServingStatusOf(frame []byte) (uint64, error) {
	if len(frame) < 5 {
		return 0, fmt.Errorf("answer of %d bytes: not a gRPC message", len(frame))
	}
	if frame[0] != 0 {
		return 0, fmt.Errorf("compressed answer: not supported")
	}
	n := binary.BigEndian.Uint32(frame[1:5])
	msg := frame[5:]
	if uint32(len(msg)) < n {
		return 0, fmt.Errorf("truncated answer")
	}
	msg = msg[:n]
	var status uint64
	for len(msg) > 0 {
		num, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return 0, protowire.ParseError(l)
		}
		msg = msg[l:]
		if num == 1 && typ == protowire.VarintType {
			v, l := protowire.ConsumeVarint(msg)
			if l < 0 {
				return 0, protowire.ParseError(l)
			}
			status, msg = v, msg[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(num, typ, msg)
		if l < 0 {
			return 0, protowire.ParseError(l)
		}
		msg = msg[l:]
	}
	return status, nil
}
