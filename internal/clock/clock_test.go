package clock

import (
	"testing"
	"time"
)

func TestRealAfterFuncFiresAndStops(t *testing.T) {
	c := Real()
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
