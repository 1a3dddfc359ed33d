package server

import (
	"testing"
	"time"
)

func TestHeartbeatTTLScalesWithClusterSize(t *testing.T) {
	for _, tc := range []struct {
		min     time.Duration
		rate    float64
		nodes   int
		stagger float64
		want    time.Duration
	}{
		{10 * time.Second, 50, 0, 0, 10 * time.Second},
		{10 * time.Second, 50, 1, 0, 10 * time.Second},
		{10 * time.Second, 50, 500, 0, 10 * time.Second},    // 500/50 = 10s: the floor still
		{10 * time.Second, 50, 1000, 0, 20 * time.Second},   // 1000/50 = 20s
		{10 * time.Second, 50, 10000, 0, 200 * time.Second}, // 10000/50
		{10 * time.Second, 50, 1000, 0.5, 30 * time.Second}, // 20s + half again
		{10 * time.Second, 50, 1, 0.999, 10*time.Second + 9990*time.Millisecond},
		{2 * time.Second, 100, 50, 0, 2 * time.Second},
		{0, 50, 0, 0.5, 0},
	} {
		if got := heartbeatTTL(tc.min, tc.rate, tc.nodes, tc.stagger); got != tc.want {
			t.Errorf("heartbeatTTL(%s, %g/s, %d nodes, stagger %g) = %s, want %s", tc.min, tc.rate, tc.nodes, tc.stagger, got, tc.want)
		}
	}
}

// The leader's heartbeat load stays bounded: with every node heartbeating once
// per TTL, the rate never exceeds the configured maximum, whatever the size.
func TestHeartbeatTTLBoundsLeaderLoad(t *testing.T) {
	const rate = 50.0
	for _, nodes := range []int{100, 1000, 5000, 20000} {
		ttl := heartbeatTTL(10*time.Second, rate, nodes, 0)
		perSecond := float64(nodes) / ttl.Seconds()
		if perSecond > rate+1e-9 {
			t.Errorf("%d nodes: TTL %s gives %.1f heartbeats/s, more than %g", nodes, ttl, perSecond, rate)
		}
	}
}
