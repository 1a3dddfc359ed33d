package broker

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when a test calls Advance. Timer
// callbacks run synchronously in the goroutine that calls Advance, in order
// of deadline (then of creation), without the clock's lock held.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer // active timers, unordered
}

var _ Clock = (*fakeClock)(nil)

type fakeTimer struct {
	clock *fakeClock
	when  time.Time
	seq   uint64
	f     func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Stopper {
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

// Advance moves the clock forward by d, firing every timer due by then.
// Timers that callbacks start are fired too if due.
func (c *fakeClock) Advance(d time.Duration) {
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
			c.now = target
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
func (c *fakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func TestFakeClockFiresInOrderAndHonoursStop(t *testing.T) {
	c := newFakeClock()
	start := c.Now()
	var fired []string
	c.AfterFunc(2*time.Second, func() { fired = append(fired, "2s") })
	stopped := c.AfterFunc(time.Second, func() { fired = append(fired, "stopped") })
	c.AfterFunc(time.Second, func() {
		fired = append(fired, "1s")
		// A timer started by a callback fires in the same Advance when due.
		c.AfterFunc(500*time.Millisecond, func() { fired = append(fired, "1.5s") })
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop must report true once, then false")
	}
	c.Advance(1999 * time.Millisecond)
	if want := []string{"1s", "1.5s"}; !slices.Equal(fired, want) {
		t.Fatalf("after 1.999s fired %v, want %v", fired, want)
	}
	c.Advance(time.Millisecond)
	if want := []string{"1s", "1.5s", "2s"}; !slices.Equal(fired, want) {
		t.Fatalf("after 2s fired %v, want %v", fired, want)
	}
	if got := c.Now().Sub(start); got != 2*time.Second {
		t.Fatalf("clock moved %s, want 2s", got)
	}
	if c.Pending() != 0 {
		t.Fatalf("Pending = %d after every timer fired", c.Pending())
	}
}

func TestRealClockAfterFuncFiresAndStops(t *testing.T) {
	c := RealClock()
	fired := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("real clock timer did not fire within 10s")
	}
	never := c.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") })
	if !never.Stop() {
		t.Fatal("Stop of a pending real timer must report true")
	}
	if c.Now().IsZero() {
		t.Fatal("real clock Now is zero")
	}
}
