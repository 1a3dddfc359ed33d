// Package clocktest provides a fake clock.Clock for tests: time stands still
// until the test advances it, and the timers that come due fire in a known
// order in the test's own goroutine.
package clocktest

import (
	"slices"
	"sync"
	"time"

	"github.com/orch-io/orch/internal/clock"
)

// Fake is a clock.Clock that moves only when Advance is called. Timer
// callbacks run synchronously in the goroutine that calls Advance, in order
// of deadline (then of creation), without the clock's lock held, so they may
// use the clock. It is safe for concurrent use.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer // active timers, unordered: tests keep few
}

var _ clock.Clock = (*Fake)(nil)

type fakeTimer struct {
	clock *Fake
	when  time.Time
	seq   uint64
	f     func()
}

// Start is where every NewFake clock starts: a fixed date, so that test
// output does not change from run to run.
var Start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// NewFake returns a fake clock at Start.
func NewFake() *Fake { return &Fake{now: Start} }

// Now is the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now() + d; a d <= 0 fires at the next Advance
// (even by 0).
func (c *Fake) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{clock: c, when: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop removes the timer; it reports false if it already fired or was stopped.
func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.timers, t)
	if i < 0 {
		return false
	}
	c.timers = slices.Delete(c.timers, i, i+1)
	return true
}

// Advance moves the clock forward by d, firing every timer due by then, each
// at its own deadline (Now, seen from a callback, is that deadline). Timers
// that callbacks start are fired too if due by the target. Advance returns
// once every due callback has returned.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if t.when.After(target) {
				continue
			}
			if next == nil || t.when.Before(next.when) || (t.when.Equal(next.when) && t.seq < next.seq) {
				next = t
			}
		}
		if next == nil {
			if target.After(c.now) {
				c.now = target
			}
			c.mu.Unlock()
			return
		}
		c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool { return t == next })
		if next.when.After(c.now) {
			c.now = next.when
		}
		c.mu.Unlock()
		next.f()
	}
}

// Pending counts the timers started and neither stopped nor fired.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}
