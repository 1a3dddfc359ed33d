package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestThreeAreDistinctAndFree(t *testing.T) {
	ports, err := Three()
	if err != nil {
		t.Fatal(err)
	}
	if ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
		t.Fatalf("ports %v are not distinct", ports)
	}
	for _, p := range ports {
		addr := "127.0.0.1:" + strconv.Itoa(p)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("port %d is not free for TCP: %v", p, err)
		}
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("port %d is not free for UDP: %v", p, err)
		}
		u.Close()
		l.Close()
	}
}
