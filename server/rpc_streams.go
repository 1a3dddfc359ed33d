package server

import (
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// openStreams are the streams of one yamux session still being served, so
// that the session's end can wake their readers.
//
// Why: yamux (v0.1.2) closes a session's shutdown channel first and marks
// its streams closed only later (after its receive loop has exited), and a
// Read waiting on a stream treats the closed shutdown channel as "look
// again": until the stream is marked closed, every reader of the session
// spins. With thousands of blocking queries on a session (a follower's
// forwarding pool, the simulator's shared sessions) the spinning readers
// starve the goroutine that would mark them closed, and a loaded server
// spent nearly all its CPU there. A read deadline in the past makes each of
// those Reads return at once.
type openStreams struct {
	mu struct {
		sync.Mutex
		m map[*yamux.Stream]struct{}
	}
}

func newOpenStreams() *openStreams {
	o := &openStreams{}
	o.mu.m = map[*yamux.Stream]struct{}{}
	return o
}

// add records st. Called by the session's accept loop, as end is.
func (o *openStreams) add(st *yamux.Stream) {
	o.mu.Lock()
	o.mu.m[st] = struct{}{}
	o.mu.Unlock()
}

// remove forgets st once it is served.
func (o *openStreams) remove(st *yamux.Stream) {
	o.mu.Lock()
	delete(o.mu.m, st)
	o.mu.Unlock()
}

// end wakes the reads of every stream still served: they return a timeout
// error, and their calls end as with a closed stream.
func (o *openStreams) end() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for st := range o.mu.m {
		_ = st.SetReadDeadline(time.Unix(1, 0))
	}
}
