package server

import (
	"strings"
	"testing"
	"time"
)

func TestRaftMultiplierScalesTimings(t *testing.T) {
	for _, tc := range []struct {
		multiplier                 int
		dev                        bool
		heartbeat, election, lease time.Duration
	}{
		{0, false, 500 * time.Millisecond, 500 * time.Millisecond, 250 * time.Millisecond},
		{1, false, 500 * time.Millisecond, 500 * time.Millisecond, 250 * time.Millisecond},
		{3, false, 1500 * time.Millisecond, 1500 * time.Millisecond, 750 * time.Millisecond},
		{10, false, 5 * time.Second, 5 * time.Second, 2500 * time.Millisecond},
		// Dev mode keeps its own, faster timings whatever the multiplier.
		{5, true, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond},
	} {
		c := Config{DataDir: "d", RaftMultiplier: tc.multiplier, DevMode: tc.dev}.withDefaults()
		got := c.RaftTimeouts
		if got.Heartbeat != tc.heartbeat || got.Election != tc.election || got.LeaderLease != tc.lease {
			t.Errorf("multiplier %d dev %v: heartbeat %s election %s lease %s; want %s %s %s", tc.multiplier, tc.dev,
				got.Heartbeat, got.Election, got.LeaderLease, tc.heartbeat, tc.election, tc.lease)
		}
	}
	// An explicit timing wins over the multiplier.
	c := Config{DataDir: "d", RaftMultiplier: 4, RaftTimeouts: RaftTimeouts{Election: time.Second}}.withDefaults()
	if c.RaftTimeouts.Election != time.Second || c.RaftTimeouts.Heartbeat != 2*time.Second {
		t.Errorf("explicit election 1s with multiplier 4: got %+v", c.RaftTimeouts)
	}
}

func TestRaftMultiplierValidated(t *testing.T) {
	for _, m := range []int{-1, 11} {
		c := Config{DataDir: "d", RaftMultiplier: m}
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "raft_multiplier = ") || !strings.Contains(err.Error(), "must be in 1..10") {
			t.Errorf("raft_multiplier %d: error %v, want one naming raft_multiplier and 1..10", m, err)
		}
	}
	if err := (&Config{DataDir: "d", RaftMultiplier: 10}).Validate(); err != nil {
		t.Errorf("raft_multiplier 10: %v", err)
	}
}
