package clocktest

import (
	"slices"
	"sync"
	"testing"
	"time"
)

func TestFakeFiresInOrderAndHonoursStop(t *testing.T) {
	c := NewFake()
	var fired []string
	var at []time.Duration
	record := func(name string) func() {
		return func() { fired, at = append(fired, name), append(at, c.Now().Sub(Start)) }
	}
	c.AfterFunc(2*time.Second, record("2s"))
	stopped := c.AfterFunc(time.Second, record("stopped"))
	c.AfterFunc(time.Second, func() {
		record("1s")()
		// A timer started by a callback fires in the same Advance when due.
		c.AfterFunc(500*time.Millisecond, record("1.5s"))
	})
	c.AfterFunc(time.Second, record("1s, second")) // same deadline: creation order
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop must report true once, then false")
	}
	c.Advance(1999 * time.Millisecond)
	if want := []string{"1s", "1s, second", "1.5s"}; !slices.Equal(fired, want) {
		t.Fatalf("after 1.999s fired %v, want %v", fired, want)
	}
	if want := []time.Duration{time.Second, time.Second, 1500 * time.Millisecond}; !slices.Equal(at, want) {
		t.Fatalf("callbacks saw Now at %v, want their deadlines %v", at, want)
	}
	c.Advance(time.Millisecond)
	if want := []string{"1s", "1s, second", "1.5s", "2s"}; !slices.Equal(fired, want) {
		t.Fatalf("after 2s fired %v, want %v", fired, want)
	}
	if got := c.Now().Sub(Start); got != 2*time.Second {
		t.Fatalf("clock moved %s, want 2s", got)
	}
	if c.Pending() != 0 {
		t.Fatalf("Pending = %d after every timer fired", c.Pending())
	}
}

func TestFakeZeroDelayFiresAtTheNextAdvance(t *testing.T) {
	c := NewFake()
	n := 0
	c.AfterFunc(0, func() { n++ })
	c.AfterFunc(-time.Second, func() { n++ })
	if n != 0 || c.Pending() != 2 {
		t.Fatalf("fired %d, pending %d before any Advance; want 0, 2", n, c.Pending())
	}
	c.Advance(0)
	if n != 2 || c.Now() != Start {
		t.Fatalf("after Advance(0): fired %d at %s; want 2 at %s (time never goes back)", n, c.Now(), Start)
	}
}

// Goroutines may start and stop timers while another advances the clock.
func TestFakeIsSafeForConcurrentUse(t *testing.T) {
	c := NewFake()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				c.AfterFunc(time.Millisecond, func() {}).Stop()
				c.AfterFunc(time.Millisecond, func() {})
			}
		})
	}
	for range 50 {
		c.Advance(time.Millisecond)
	}
	wg.Wait()
	c.Advance(time.Millisecond)
	if c.Pending() != 0 {
		t.Fatalf("Pending = %d after the last Advance", c.Pending())
	}
}
