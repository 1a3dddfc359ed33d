package client

import (
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// The watch asks any server (AllowStale) from its index; a stale answer
// older than that index is confirmed with the leader's current view: no
// stale read, no wait.
func TestWatchAllocsRequestAsksTheLeaderOnlyToConfirm(t *testing.T) {
	req := WatchAllocsRequest("n1", "s1", "global", 42, time.Minute, false)
	if !req.AllowStale || req.MinQueryIndex != 42 || req.MaxQueryTime != time.Minute || req.NodeID != "n1" || req.SecretID != "s1" {
		t.Errorf("watch request = %+v, want a stale-allowed wait from index 42", req)
	}
	confirm := WatchAllocsRequest("n1", "s1", "global", 42, time.Minute, true)
	if confirm.AllowStale || confirm.MinQueryIndex != 0 {
		t.Errorf("confirm request = %+v, want the leader's view at once (no stale read, index 0)", confirm)
	}
	for _, tc := range []struct {
		answer, index uint64
		behind        bool
	}{{41, 42, true}, {42, 42, false}, {50, 42, false}} {
		if got := StaleBehind(&structs.NodeClientAllocsResponse{QueryMeta: structs.QueryMeta{Index: tc.answer}}, tc.index); got != tc.behind {
			t.Errorf("StaleBehind(answer %d, index %d) = %v, want %v", tc.answer, tc.index, got, tc.behind)
		}
	}
}
