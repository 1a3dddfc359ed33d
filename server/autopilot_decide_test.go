package server

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// The table below reads: servers s1..s5, s1 the leader; times are offsets
// from apT0; the settings are apTestConfig unless a case changes them.

var apT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func apAt(d time.Duration) time.Time { return apT0.Add(d) }

func apAddr(id string) raft.ServerAddress { return raft.ServerAddress(id + ":4647") }

func apVoter(id string) raft.Server {
	return raft.Server{ID: raft.ServerID(id), Address: apAddr(id), Suffrage: raft.Voter}
}

func apNonvoter(id string) raft.Server {
	return raft.Server{ID: raft.ServerID(id), Address: apAddr(id), Suffrage: raft.Nonvoter}
}

func apMemberIn(id string, st memberlist.NodeStateType) apMember {
	return apMember{ID: raft.ServerID(id), Name: "node-" + id, Addr: apAddr(id), State: st, BootstrapExpect: 3}
}

func apAlive(ids ...string) []apMember { return apMembers(memberlist.StateAlive, ids...) }
func apDead(ids ...string) []apMember  { return apMembers(memberlist.StateDead, ids...) }
func apLeft(ids ...string) []apMember  { return apMembers(memberlist.StateLeft, ids...) }

func apMembers(st memberlist.NodeStateType, ids ...string) []apMember {
	var out []apMember
	for _, id := range ids {
		out = append(out, apMemberIn(id, st))
	}
	return out
}

// healthy is the RaftStats answer of a non-voter following s1, lastIndex
// into its log (the leader's is at 100).
func apHealthy(id string, lastIndex uint64) apHealth {
	return apHealth{Stats: structs.RaftStatsResponse{ServerID: id, LastIndex: lastIndex, AppliedIndex: lastIndex, Leader: string(apAddr("s1"))}}
}

var apTestConfig = AutopilotConfig{
	ServerStabilizationTime: 10 * time.Second,
	MaxTrailingLogs:         10,
	DeadServerCleanupTime:   5 * time.Minute,
	Interval:                time.Second,
}

// apTimes builds a map of server IDs to times from "id", offset pairs (an
// offset is a time.Duration, or the untyped constant 0).
func apTimes(pairs ...any) map[raft.ServerID]time.Time {
	m := map[raft.ServerID]time.Time{}
	for i := 0; i < len(pairs); i += 2 {
		var d time.Duration
		switch v := pairs[i+1].(type) {
		case time.Duration:
			d = v
		case int:
			d = time.Duration(v)
		default:
			panic(fmt.Sprintf("apTimes: offset %v (%T) is not a duration", v, v))
		}
		m[raft.ServerID(pairs[i].(string))] = apAt(d)
	}
	return m
}

// actionStrings renders actions as "promote s4", "remove s2 (left)".
func actionStrings(actions []apAction) []string {
	var out []string
	for _, a := range actions {
		s := a.Kind.String() + " " + string(a.ID)
		switch {
		case a.Kind == apUpdateAddress && a.Voter:
			s += " (voter)"
		case a.Reason != "":
			s += " (" + a.Reason + ")"
		}
		out = append(out, s)
	}
	return out
}

func serverIDs[V any](m map[raft.ServerID]V) []string {
	var out []string
	for id := range m {
		out = append(out, string(id))
	}
	slices.Sort(out)
	return out
}

const (
	whyLeft     = "left"
	whyCleanup  = "failed for longer than dead_server_cleanup_time"
	whyReplaced = "replaced: a server was promoted after it failed"
)

func TestDecideAutopilot(t *testing.T) {
	s1to3 := []raft.Server{apVoter("s1"), apVoter("s2"), apVoter("s3")}
	for _, tc := range []struct {
		name    string
		prev    autopilotState
		now     time.Duration
		tune    func(*autopilotInput)
		servers []raft.Server
		members []apMember
		health  map[raft.ServerID]apHealth

		want        []string
		wantHealthy map[raft.ServerID]time.Time // nil: none
		wantFailed  map[raft.ServerID]time.Time // nil: none
		wantRefused []string
	}{
		{
			name:    "an alive server not in the configuration is added as a non-voter",
			servers: s1to3, members: apAlive("s1", "s2", "s3", "s4"),
			want: []string{"add non-voter s4"},
		},
		{
			name:    "a server at a new address is added again with its suffrage",
			servers: []raft.Server{apVoter("s1"), {ID: "s2", Address: "old:4647", Suffrage: raft.Voter}, {ID: "s3", Address: "old3:4647", Suffrage: raft.Nonvoter}},
			members: apAlive("s1", "s2", "s3"),
			want:    []string{"update address s2 (voter)", "update address s3"},
		},
		{
			name:    "the leader itself and members without an ID or address are left alone",
			servers: []raft.Server{apVoter("s1")},
			members: []apMember{apMemberIn("s1", memberlist.StateDead), {Name: "no-id", Addr: "x:1", State: memberlist.StateAlive}, {ID: "s9", Name: "no-addr", State: memberlist.StateAlive}},
		},
		{
			name:    "a non-voter that answers, follows this leader and has caught up starts stabilizing",
			now:     time.Minute,
			servers: append(s1to3, apNonvoter("s4")), members: apAlive("s1", "s2", "s3", "s4"),
			health:      map[raft.ServerID]apHealth{"s4": apHealthy("s4", 100)},
			wantHealthy: apTimes("s4", time.Minute),
		},
		{
			name:    "a non-voter healthy for the stabilization time is promoted",
			prev:    autopilotState{healthySince: apTimes("s4", 0)},
			now:     10 * time.Second,
			servers: append(s1to3, apNonvoter("s4")), members: apAlive("s1", "s2", "s3", "s4"),
			health:      map[raft.ServerID]apHealth{"s4": apHealthy("s4", 100)},
			want:        []string{"promote s4"},
			wantHealthy: apTimes("s4", 0), // until the caller records the promotion
		},
		{
			name:    "a non-voter healthy for a nanosecond less is not promoted yet",
			prev:    autopilotState{healthySince: apTimes("s4", 0)},
			now:     10*time.Second - time.Nanosecond,
			servers: append(s1to3, apNonvoter("s4")), members: apAlive("s1", "s2", "s3", "s4"),
			health:      map[raft.ServerID]apHealth{"s4": apHealthy("s4", 100)},
			wantHealthy: apTimes("s4", 0),
		},
		{
			name:    "a non-voter exactly MaxTrailingLogs behind is caught up",
			prev:    autopilotState{healthySince: apTimes("s4", 0)},
			now:     time.Hour,
			servers: append(s1to3, apNonvoter("s4")), members: apAlive("s1", "s2", "s3", "s4"),
			health: map[raft.ServerID]apHealth{"s4": apHealthy("s4", 90)},
			want:   []string{"promote s4"}, wantHealthy: apTimes("s4", 0),
		},
		{
			name:    "a non-voter that falls further behind starts stabilizing again",
			prev:    autopilotState{healthySince: apTimes("s4", 0)},
			now:     time.Hour,
			servers: append(s1to3, apNonvoter("s4")), members: apAlive("s1", "s2", "s3", "s4"),
			health: map[raft.ServerID]apHealth{"s4": apHealthy("s4", 89)},
		},
		{
			name:    "a non-voter following no leader or another one is not healthy",
			prev:    autopilotState{healthySince: apTimes("s4", 0)},
			now:     time.Hour,
			servers: append(s1to3, apNonvoter("s4"), apNonvoter("s5")), members: apAlive("s1", "s2", "s3", "s4", "s5"),
			health: map[raft.ServerID]apHealth{
				"s4": {Stats: structs.RaftStatsResponse{ServerID: "s4", LastIndex: 100}},
				"s5": {Stats: structs.RaftStatsResponse{ServerID: "s5", LastIndex: 100, Leader: "s2:4647"}},
			},
		},
		{
			name:    "a non-voter that does not answer, is not asked, or whose address another server answers is not healthy",
			prev:    autopilotState{healthySince: apTimes("s3", 0, "s4", 0, "s5", 0)},
			now:     time.Hour,
			servers: []raft.Server{apVoter("s1"), apNonvoter("s3"), apNonvoter("s4"), apNonvoter("s5")}, members: apAlive("s1", "s3", "s4", "s5"),
			health: map[raft.ServerID]apHealth{
				"s3": {Err: errors.New("connection refused")},
				"s5": apHealthy("s9", 100),
			},
		},
		{
			name:    "stabilization is forgotten for a server no longer an alive non-voter",
			prev:    autopilotState{healthySince: apTimes("s2", 0, "s4", 0, "s5", 0)},
			now:     time.Hour,
			servers: append(s1to3, apNonvoter("s4"), apNonvoter("s5")),
			members: append(apAlive("s1", "s2", "s3"), append(apDead("s4"), apLeft("s5")...)...),
			want:    []string{"remove s5 (left)"},
			// s4: failed now; its removal is not due yet
			wantFailed: apTimes("s4", time.Hour),
		},
		{
			name:    "a server that left is removed, and forgotten once it is gone",
			prev:    autopilotState{failedSince: apTimes("s3", 0, "s4", 0), refused: map[raft.ServerID]bool{"s3": true}},
			servers: s1to3, members: append(apAlive("s1", "s2"), apLeft("s3", "s4")...),
			want: []string{"remove s3 (left)"},
		},
		{
			name:    "a failed server stays until the cleanup time",
			now:     time.Minute,
			servers: s1to3, members: append(apAlive("s1", "s2"), apDead("s3")...),
			wantFailed: apTimes("s3", time.Minute),
		},
		{
			name:    "a failed server is removed after the cleanup time",
			prev:    autopilotState{failedSince: apTimes("s4", 0)},
			now:     5 * time.Minute,
			servers: append(s1to3, apVoter("s4")), members: append(apAlive("s1", "s2", "s3"), apDead("s4")...),
			want:       []string{"remove s4 (" + whyCleanup + ")"},
			wantFailed: apTimes("s4", 0), // until the caller records the removal
		},
		{
			name:    "a failed server is removed at once when a server was promoted after it failed",
			prev:    autopilotState{failedSince: apTimes("s4", 0), lastPromotion: apAt(time.Second)},
			now:     time.Second,
			servers: append(s1to3, apVoter("s4")), members: append(apAlive("s1", "s2", "s3"), apDead("s4")...),
			want:       []string{"remove s4 (" + whyReplaced + ")"},
			wantFailed: apTimes("s4", 0),
		},
		{
			name:    "a promotion before the failure does not replace it",
			prev:    autopilotState{failedSince: apTimes("s4", time.Second), lastPromotion: apAt(time.Second)},
			now:     time.Minute,
			servers: append(s1to3, apVoter("s4")), members: append(apAlive("s1", "s2", "s3"), apDead("s4")...),
			wantFailed: apTimes("s4", time.Second),
		},
		{
			name:    "a failed voter is not removed when fewer than MinQuorum voters would remain",
			prev:    autopilotState{failedSince: apTimes("s3", 0)},
			now:     time.Hour,
			tune:    func(in *autopilotInput) { in.Config.MinQuorum = 3 },
			servers: s1to3, members: append(apAlive("s1", "s2"), apDead("s3")...),
			wantFailed: apTimes("s3", 0), wantRefused: []string{"s3"},
		},
		{
			name: "of two failed voters, the second is kept for the quorum of bootstrap_expect 4",
			prev: autopilotState{failedSince: apTimes("s3", 0, "s4", 0)},
			now:  time.Hour,
			tune: func(in *autopilotInput) {
				in.BootstrapExpect = 4
				for i := range in.Members {
					in.Members[i].BootstrapExpect = 4
				}
			},
			servers: append(s1to3, apVoter("s4")), members: append(apAlive("s1", "s2"), apDead("s3", "s4")...),
			want:       []string{"remove s3 (" + whyCleanup + ")"},
			wantFailed: apTimes("s3", 0, "s4", 0), wantRefused: []string{"s4"},
		},
		{
			name: "a leader without bootstrap_expect takes the largest its peers advertise",
			prev: autopilotState{failedSince: apTimes("s2", 0)},
			now:  time.Hour,
			tune: func(in *autopilotInput) {
				in.BootstrapExpect = 0
				in.Members[0].BootstrapExpect = 5 // quorum 3
			},
			servers: s1to3, members: append(apAlive("s1", "s3"), apDead("s2")...),
			wantFailed: apTimes("s2", 0), wantRefused: []string{"s2"},
		},
		{
			name:    "a failed non-voter is removed whatever MinQuorum: it holds no vote",
			prev:    autopilotState{failedSince: apTimes("s4", 0)},
			now:     time.Hour,
			tune:    func(in *autopilotInput) { in.Config.MinQuorum = 3 },
			servers: append(s1to3, apNonvoter("s4")), members: append(apAlive("s1", "s2", "s3"), apDead("s4")...),
			want:       []string{"remove s4 (" + whyCleanup + ")"},
			wantFailed: apTimes("s4", 0),
		},
		{
			name:    "with dead server cleanup disabled a failed server stays",
			prev:    autopilotState{failedSince: apTimes("s4", 0), lastPromotion: apAt(time.Minute)},
			now:     time.Hour,
			tune:    func(in *autopilotInput) { in.Config.DisableDeadServerCleanup = true },
			servers: append(s1to3, apVoter("s4")), members: append(apAlive("s1", "s2", "s3"), apDead("s4")...),
			wantFailed: apTimes("s4", 0),
		},
		{
			name:    "a failed server alive again is not removed",
			prev:    autopilotState{failedSince: apTimes("s3", 0), refused: map[raft.ServerID]bool{"s3": true}},
			now:     time.Hour,
			servers: s1to3, members: apAlive("s1", "s2", "s3"),
		},
		{
			name:    "a failed server an operator removed is forgotten",
			prev:    autopilotState{failedSince: apTimes("s4", 0), refused: map[raft.ServerID]bool{"s4": true}},
			now:     time.Hour,
			servers: s1to3, members: append(apAlive("s1", "s2", "s3"), apDead("s4")...),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := autopilotInput{
				Now: apAt(tc.now), Config: apTestConfig, BootstrapExpect: 3,
				Self: "s1", SelfAddr: string(apAddr("s1")), LeaderLastIndex: 100,
				Servers: tc.servers, Members: tc.members, Health: tc.health,
			}
			if tc.tune != nil {
				in.Members = slices.Clone(in.Members)
				tc.tune(&in)
			}
			prevCopy := tc.prev.clone()
			d := decideAutopilot(tc.prev, in)

			if got := actionStrings(d.Actions); !slices.Equal(got, tc.want) {
				t.Errorf("actions:\n got %q\nwant %q", got, tc.want)
			}
			if !maps.Equal(d.Next.healthySince, apOrEmpty(tc.wantHealthy)) {
				t.Errorf("healthy since: got %v, want %v", d.Next.healthySince, tc.wantHealthy)
			}
			if !maps.Equal(d.Next.failedSince, apOrEmpty(tc.wantFailed)) {
				t.Errorf("failed since: got %v, want %v", d.Next.failedSince, tc.wantFailed)
			}
			if got := serverIDs(d.Next.refused); !slices.Equal(got, tc.wantRefused) {
				t.Errorf("removal refused: got %v, want %v", got, tc.wantRefused)
			}
			if !d.Next.lastPromotion.Equal(tc.prev.lastPromotion) {
				t.Errorf("last promotion moved from %s to %s without a promotion applied", tc.prev.lastPromotion, d.Next.lastPromotion)
			}
			if !apStatesEqual(tc.prev, prevCopy) {
				t.Errorf("decideAutopilot modified its prev state")
			}
			for _, n := range d.Notes {
				if !strings.HasPrefix(n.Msg, "autopilot: ") || n.ID == "" {
					t.Errorf("note %+v: want an autopilot message about a server", n)
				}
			}
		})
	}
}

func apOrEmpty(m map[raft.ServerID]time.Time) map[raft.ServerID]time.Time {
	if m == nil {
		return map[raft.ServerID]time.Time{}
	}
	return m
}

func apStatesEqual(a, b autopilotState) bool {
	a, b = a.clone(), b.clone()
	return maps.Equal(a.healthySince, b.healthySince) && maps.Equal(a.failedSince, b.failedSince) &&
		maps.Equal(a.refused, b.refused) && a.lastPromotion.Equal(b.lastPromotion)
}

// A new server's life under one leader, decision after decision, with the
// caller recording each applied action: added, stabilizing, promoted, and
// the failed server it replaces removed in the decision right after.
func TestDecideAutopilot_ReplacementSequence(t *testing.T) {
	in := autopilotInput{
		Config: apTestConfig, BootstrapExpect: 3, Self: "s1", SelfAddr: string(apAddr("s1")), LeaderLastIndex: 100,
		Servers: []raft.Server{apVoter("s1"), apVoter("s2"), apVoter("s3")},
	}
	var st autopilotState
	step := func(now time.Duration, servers []raft.Server, members []apMember, health map[raft.ServerID]apHealth) []string {
		t.Helper()
		in.Now, in.Servers, in.Members, in.Health = apAt(now), servers, members, health
		d := decideAutopilot(st, in)
		st = d.Next
		for _, a := range d.Actions {
			st.applied(a, in.Now)
		}
		return actionStrings(d.Actions)
	}
	check := func(got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("actions %q, want %q", got, want)
		}
	}
	three := []raft.Server{apVoter("s1"), apVoter("s2"), apVoter("s3")}
	s3dead := append(apAlive("s1", "s2"), apDead("s3")...)
	check(step(0, three, s3dead, nil))
	check(step(time.Second, three, append(s3dead, apAlive("s4")...), nil), "add non-voter s4")
	withS4 := append(slices.Clone(three), apNonvoter("s4"))
	all := append(s3dead, apAlive("s4")...)
	ok := map[raft.ServerID]apHealth{"s4": apHealthy("s4", 100)}
	check(step(2*time.Second, withS4, all, ok)) // stabilizing from 2s
	check(step(11*time.Second, withS4, all, ok))
	check(step(12*time.Second, withS4, all, ok), "promote s4")
	if !st.lastPromotion.Equal(apAt(12*time.Second)) || len(st.healthySince) != 0 {
		t.Fatalf("after the promotion: last promotion %s, healthy %v; want 12s and none", st.lastPromotion, st.healthySince)
	}
	promoted := []raft.Server{apVoter("s1"), apVoter("s2"), apVoter("s3"), apVoter("s4")}
	check(step(12*time.Second, promoted, all, nil), "remove s3 ("+whyReplaced+")")
	if len(st.failedSince) != 0 {
		t.Fatalf("failed since %v after the removal, want none", st.failedSince)
	}
	check(step(13*time.Second, []raft.Server{apVoter("s1"), apVoter("s2"), apVoter("s4")}, all, nil))
}

func TestAutopilot_MinVotersIsTheQuorumOfBootstrapExpect(t *testing.T) {
	for _, c := range []struct{ expect, want int }{{0, 1}, {1, 1}, {2, 2}, {3, 2}, {4, 3}, {5, 3}, {7, 4}} {
		if got := quorumOf(c.expect); got != c.want {
			t.Errorf("quorumOf(%d) = %d, want %d", c.expect, got, c.want)
		}
	}
}
