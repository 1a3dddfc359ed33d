package rpcwire

import (
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// Streams are the streams of one yamux session in use (the calls a client
// makes on it, the calls a server serves on it), so that the session's end
// wakes them at once.
//
// Why: yamux (v0.1.2) closes a session's shutdown channel first and marks
// its streams closed only after its receive loop has ended, and meanwhile a
// stream's Read (or a write waiting for window) takes the closed channel
// for "look again" and spins (hashicorp/yamux#176). With hundreds of calls
// on a session (a follower's forwarding pool, the simulator's shared
// sessions, thousands of blocking queries on a server), the spinning calls
// starved the goroutines that would have ended them: a loaded server spent
// nearly all its CPU there, and after a leader change the simulator's
// dropped sessions kept its cores busy for tens of seconds. A deadline in
// the past makes each of those reads and writes return at once.
type Streams struct {
	mu    sync.Mutex
	m     map[*yamux.Stream]struct{}
	ended bool
}

// NewStreams returns an empty set.
func NewStreams() *Streams { return &Streams{m: map[*yamux.Stream]struct{}{}} }

// Add records st as in use; after End, it wakes st at once instead.
func (s *Streams) Add(st *yamux.Stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		wake(st)
		return
	}
	s.m[st] = struct{}{}
}

// Remove forgets st once it is no longer in use.
func (s *Streams) Remove(st *yamux.Stream) {
	s.mu.Lock()
	delete(s.m, st)
	s.mu.Unlock()
}

// End wakes the reads and writes of every stream in use (the session is
// ending): they return a timeout error, and their calls end as with a
// closed stream.
func (s *Streams) End() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	for st := range s.m {
		wake(st)
	}
}

func wake(st *yamux.Stream) { _ = st.SetDeadline(time.Unix(1, 0)) }
