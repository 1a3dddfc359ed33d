package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// apFollowing is the RaftStats answer of a server following s1, heard from
// it `contact` ago, its log at term 2 and lastIndex (the leader's: term 2,
// index 100).
func apFollowing(id string, lastIndex uint64, contact time.Duration) apHealth {
	h := apHealthy(id, lastIndex)
	h.Stats.LastTerm, h.Stats.LastContact = 2, contact
	return h
}

func apHealthInput(now time.Duration, servers []raft.Server, members []apMember, health map[raft.ServerID]apHealth) autopilotInput {
	cfg := apTestConfig
	cfg.LastContactThreshold = 200 * time.Millisecond
	return autopilotInput{Now: apAt(now), Config: cfg, BootstrapExpect: 3, Self: "s1", SelfAddr: string(apAddr("s1")),
		LeaderLastIndex: 100, LeaderLastTerm: 2, Servers: servers, Members: members, Health: health}
}

func healthByID(h *structs.OperatorHealthReply) map[string]structs.ServerHealth {
	out := map[string]structs.ServerHealth{}
	for _, s := range h.Servers {
		out[s.ID] = s
	}
	return out
}

func TestDecideHealth(t *testing.T) {
	s1to3 := []raft.Server{apVoter("s1"), apVoter("s2"), apVoter("s3")}
	all := map[raft.ServerID]apHealth{"s2": apFollowing("s2", 100, 50*time.Millisecond), "s3": apFollowing("s3", 95, 0)}

	// Three healthy voters: healthy, one may fail.
	h, rec := decideHealth(nil, apHealthInput(0, s1to3, apAlive("s1", "s2", "s3"), all))
	if !h.Healthy || h.FailureTolerance != 1 || h.Leader != "s1" || strings.Join(h.Voters, ",") != "s1,s2,s3" || len(h.Servers) != 3 {
		t.Fatalf("three healthy voters: %+v", h)
	}
	by := healthByID(h)
	if s := by["s1"]; !s.Leader || !s.Healthy || s.LastContact != 0 || s.LastIndex != 100 || s.LastTerm != 2 || s.SerfStatus != "alive" || s.Name != "node-s1" {
		t.Errorf("the leader: %+v", s)
	}
	if s := by["s2"]; s.Leader || !s.Healthy || !s.Voter || s.LastContact != 50*time.Millisecond || s.LastIndex != 100 || !s.StableSince.Equal(apAt(0)) {
		t.Errorf("s2: %+v", s)
	}

	// A minute later s3 fails: unhealthy, no failure tolerated; s2's
	// StableSince stays, s3's moves to now.
	h, _ = decideHealth(rec, apHealthInput(time.Minute, s1to3, append(apAlive("s1", "s2"), apDead("s3")...),
		map[raft.ServerID]apHealth{"s2": all["s2"]}))
	by = healthByID(h)
	if h.Healthy || h.FailureTolerance != 0 || by["s3"].Healthy || by["s3"].SerfStatus != "failed" || by["s3"].LastContact != -1 ||
		!by["s3"].StableSince.Equal(apAt(time.Minute)) || !by["s2"].StableSince.Equal(apAt(0)) {
		t.Fatalf("s3 failed: %+v", h)
	}

	// Each rule of a follower's health, on a non-voter s4 next to the
	// three healthy voters (which keep the failure tolerance at 1).
	for _, tc := range []struct {
		name   string
		member apMember
		health *apHealth
	}{
		{"not heard from the leader within the threshold", apMemberIn("s4", memberlist.StateAlive), &apHealth{Stats: apFollowing("s4", 100, 201*time.Millisecond).Stats}},
		{"never heard from a leader", apMemberIn("s4", memberlist.StateAlive), &apHealth{Stats: apFollowing("s4", 100, -1).Stats}},
		{"log at an older term", apMemberIn("s4", memberlist.StateAlive), func() *apHealth { h := apFollowing("s4", 100, 0); h.Stats.LastTerm = 1; return &h }()},
		{"trailing more than MaxTrailingLogs", apMemberIn("s4", memberlist.StateAlive), func() *apHealth { h := apFollowing("s4", 89, 0); return &h }()},
		{"left", apMemberIn("s4", memberlist.StateLeft), nil},
		{"not answering", apMemberIn("s4", memberlist.StateAlive), &apHealth{Err: errors.New("connection refused")}},
	} {
		health := map[raft.ServerID]apHealth{"s2": all["s2"], "s3": all["s3"]}
		if tc.health != nil {
			health["s4"] = *tc.health
		}
		h, _ := decideHealth(nil, apHealthInput(0, append(s1to3, apNonvoter("s4")), append(apAlive("s1", "s2", "s3"), tc.member), health))
		if s := healthByID(h)["s4"]; s.Healthy || s.Voter || h.Healthy || h.FailureTolerance != 1 {
			t.Errorf("%s: s4 %+v, cluster healthy %v tolerance %d; want s4 and the cluster unhealthy, tolerance 1", tc.name, s, h.Healthy, h.FailureTolerance)
		}
	}
	// ... and exactly at the thresholds it is healthy.
	health := map[raft.ServerID]apHealth{"s2": all["s2"], "s3": all["s3"], "s4": apFollowing("s4", 90, 200*time.Millisecond)}
	h, _ = decideHealth(nil, apHealthInput(0, append(s1to3, apNonvoter("s4")), apAlive("s1", "s2", "s3", "s4"), health))
	if !h.Healthy || !healthByID(h)["s4"].Healthy {
		t.Errorf("s4 at the thresholds: %+v", h)
	}

	// A server of the configuration gossip has never seen.
	h, _ = decideHealth(nil, apHealthInput(0, s1to3, apAlive("s1", "s2"), map[raft.ServerID]apHealth{"s2": all["s2"]}))
	if s := healthByID(h)["s3"]; s.SerfStatus != "none" || s.Healthy || s.Name != "" || h.FailureTolerance != 0 {
		t.Errorf("unseen s3: %+v (tolerance %d)", s, h.FailureTolerance)
	}
}

// A non-voter that has not heard from the leader within the threshold is
// not promoted, whatever its log.
func TestDecideAutopilot_LastContactThresholdGatesPromotion(t *testing.T) {
	in := apHealthInput(time.Hour, []raft.Server{apVoter("s1"), apVoter("s2"), apVoter("s3"), apNonvoter("s4")},
		apAlive("s1", "s2", "s3", "s4"), map[raft.ServerID]apHealth{"s4": apFollowing("s4", 100, time.Second)})
	d := decideAutopilot(autopilotState{healthySince: apTimes("s4", 0)}, in)
	if len(d.Actions) != 0 || len(d.Next.healthySince) != 0 {
		t.Fatalf("actions %v, healthy %v; want no promotion and stabilization restarted", actionStrings(d.Actions), d.Next.healthySince)
	}
	in.Health["s4"] = apFollowing("s4", 100, 10*time.Millisecond)
	if d := decideAutopilot(autopilotState{healthySince: apTimes("s4", 0)}, in); strings.Join(actionStrings(d.Actions), ",") != "promote s4" {
		t.Fatalf("within the threshold: actions %v, want promote s4", actionStrings(d.Actions))
	}
}
