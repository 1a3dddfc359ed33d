package rpcwire

import (
	"sync/atomic"

	"github.com/hashicorp/yamux"
)

// Answers tells a session that let one call's deadline pass without a word
// (a dead or stuck server: drop it) from one that went on answering other
// calls meanwhile (the server held that call, a write waiting for a leader:
// keep it). Dropping a shared session fails every call on it, and a client
// agent heartbeats at once when its session is lost; at a leader change, a
// session dropped for each slow call made a storm of both.
//
// It counts the calls answered (a reply or the endpoint's error) and
// remembers the session of the last one: precise for one session at a time
// (a client agent's; a follower's to the leader), conservative otherwise
// (a session is then kept only if it answered last).
type Answers struct {
	n    atomic.Uint64
	last atomic.Pointer[yamux.Session]
}

// Mark returns the count to give Since, taken before a call.
func (a *Answers) Mark() uint64 { return a.n.Load() }

// Answered records a call answered on sess.
func (a *Answers) Answered(sess *yamux.Session) {
	if a.last.Load() != sess {
		a.last.Store(sess)
	}
	a.n.Add(1)
}

// Since reports whether sess answered a call after mark was taken.
func (a *Answers) Since(sess *yamux.Session, mark uint64) bool {
	return a.last.Load() == sess && a.n.Load() > mark
}
