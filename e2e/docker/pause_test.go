package dockere2e

import (
	"testing"
	"time"
)

// pauseFor is how long the leader stays frozen: the figure is
// measured over a 6 s SIGSTOP.
const pauseFor = 6 * time.Second

// TestLeaderPause freezes the leader (docker pause: the cgroup freezer, which
// stops every process of the container as SIGSTOP would) for 6 s while
// writers send to the two followers, and prints the longest time without a
// successful write (target ≤ 1.5 s: the followers elect a new leader in about
// a second; printed, not asserted). Then the usual checks.
func TestLeaderPause(t *testing.T) {
	c := startCluster(t)
	leader := c.waitHealthy()
	w := c.startWriters("pause", c.others(leader)...)
	w.waitAcksAfter(t, time.Time{}, 10)

	paused := time.Now()
	c.pause(leader)
	t.Logf("leader %s paused", leader.name)
	// The fault's duration, not a wait for a condition.
	timer := time.NewTimer(pauseFor)
	<-timer.C
	c.unpause(leader)
	resumed := time.Now()
	w.waitAcksAfter(t, resumed, 10)
	w.stop()
	gap := w.longestGap(paused)
	figure(t, "sigstop_write_gap", gap.Seconds(), "s")
	c.waitHealthy()
	c.check()
}
