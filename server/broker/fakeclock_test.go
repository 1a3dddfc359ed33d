package broker

import "github.com/orch-io/orch/internal/clock/clocktest"

// fakeClock is the broker tests' clock: it moves only when a test calls
// Advance, and fires the timers that come due in the test's goroutine.
type fakeClock = clocktest.Fake

func newFakeClock() *fakeClock { return clocktest.NewFake() }
