// Package clock is the source of time of every component of orch that keeps
// timers: the servers' heartbeat timers, autopilot and eval broker, the
// client's heartbeat loop. Production code takes a Clock (Real by default);
// tests pass a clocktest.Fake and move time by hand, so a test of a
// ten-minute timeout takes no wall time and fires its timers in a known
// order.
//
// Only what those components need is here: the time now, and a callback
// after a delay. A loop that waits for a timer or a context arms AfterFunc
// with a callback that signals a channel of its own (see the users), so the
// fake needs no channel timers.
//
// testing/synctest does not replace this: its bubbles advance time only while
// every goroutine is durably blocked, which a server with real sockets and a
// real Raft on disk never is.
package clock

import "time"

// Clock tells the time and runs callbacks after delays.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// AfterFunc calls f once d has passed, unless the timer is stopped
	// first: in its own goroutine for Real, in the goroutine that advances
	// the clock for a fake.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a callback scheduled by Clock.AfterFunc. Stop reports whether it
// stopped the timer before it fired; when it returns false, f has run, is
// running or is about to, and callers must be written to ignore such a late
// call.
type Timer interface {
	Stop() bool
}

// Real is the Clock of package time.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
