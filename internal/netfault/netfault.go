// Package netfault makes connections fail the way networks and hosts do, for
// tests and the simulator: a Silent connection stands for a peer whose host
// vanished (power lost, cable cut), which sends nothing more, not even a FIN.
package netfault

import (
	"net"
	"sync"
)

// Silent wraps a connection whose far end can fall silent (Silence): from
// then on reads block until Close and writes are dropped, so the other side
// sees no answer and no close, only silence. A read already waiting when it
// falls silent returns only what was sent before.
type Silent struct {
	net.Conn
	silenced chan struct{}
	closed   chan struct{}
	silence  sync.Once
	close    sync.Once
}

// NewSilent wraps c.
func NewSilent(c net.Conn) *Silent {
	return &Silent{Conn: c, silenced: make(chan struct{}), closed: make(chan struct{})}
}

// Silence makes the connection fall silent. Safe to call more than once.
func (c *Silent) Silence() { c.silence.Do(func() { close(c.silenced) }) }

func (c *Silent) Read(p []byte) (int, error) {
	select {
	case <-c.silenced:
		<-c.closed
		return 0, net.ErrClosed
	default:
	}
	return c.Conn.Read(p)
}

func (c *Silent) Write(p []byte) (int, error) {
	select {
	case <-c.silenced:
		return len(p), nil
	default:
		return c.Conn.Write(p)
	}
}

// Close closes the connection (on this side: once silent, the far end still
// hears nothing but the kernel's FIN, as when its host finally answers).
func (c *Silent) Close() error {
	c.close.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
