// Package freeport picks ports free on 127.0.0.1 for the agents that tests
// and the scale simulator start: HTTP, RPC and gossip, each free for TCP and
// for UDP (memberlist needs both on the gossip port; asking it of all three
// keeps the rule simple).
package freeport

import (
	"errors"
	"fmt"
	"net"
)

// Three returns three distinct ports free for TCP and UDP on 127.0.0.1. They
// are free when it returns: another process may take one before the caller
// listens, so callers that can retry do.
func Three() ([3]int, error) {
	var ports [3]int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for i, attempts := 0, 0; i < 3; attempts++ {
		if attempts == 20 {
			return ports, errors.New("freeport: no free ports on 127.0.0.1")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports, fmt.Errorf("freeport: probing for a free port: %w", err)
		}
		held = append(held, l) // held until the end: the next probe gets another port
		u, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			continue // the UDP side is taken
		}
		u.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
		i++
	}
	return ports, nil
}
