package server

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// The health of the servers, as the leader's autopilot reports it
// (Operator.ServerHealth, GET /v1/operator/autopilot/health), after Nomad's:
// a pure function of one pass's observations (autopilotInput) and of when
// each server's health last changed. A server is healthy when
// healthProblem finds nothing wrong with it; the same judgement gates the
// promotion of a non-voter (considerPromotion).

// healthRecord is what the leader remembers of a server's health between
// passes, for StableSince.
type healthRecord struct {
	healthy bool
	since   time.Time
}

// healthProblem returns why the server m (not the leader) is not healthy, ""
// when it is: it must be alive in gossip and have answered Status.RaftStats
// as itself, following this leader, heard from it within
// LastContactThreshold, with its log at the leader's term (when it reports
// one) and within MaxTrailingLogs of the leader's last index.
func healthProblem(in autopilotInput, m apMember) string {
	if m.State != memberlist.StateAlive {
		return "not alive in gossip"
	}
	h, asked := in.Health[m.ID]
	switch {
	case !asked:
		return "not asked for its raft stats"
	case h.Err != nil:
		return "not answering: " + h.Err.Error()
	case h.Stats.ServerID != string(m.ID):
		return "another server (" + h.Stats.ServerID + ") answers at its address"
	case h.Stats.Leader != in.SelfAddr:
		return "not following this leader yet"
	case h.Stats.LastContact < 0:
		return "has not heard from a leader"
	case h.Stats.LastContact > in.Config.LastContactThreshold:
		return "last heard from the leader " + h.Stats.LastContact.Round(time.Millisecond).String() +
			" ago, more than last_contact_threshold " + in.Config.LastContactThreshold.String()
	case h.Stats.LastTerm != 0 && in.LeaderLastTerm != 0 && h.Stats.LastTerm != in.LeaderLastTerm:
		return "its log is at term " + strconv.FormatUint(h.Stats.LastTerm, 10) + ", the leader's at " + strconv.FormatUint(in.LeaderLastTerm, 10)
	case in.LeaderLastIndex > h.Stats.LastIndex && in.LeaderLastIndex-h.Stats.LastIndex > in.Config.MaxTrailingLogs:
		return "trails the leader by " + strconv.FormatUint(in.LeaderLastIndex-h.Stats.LastIndex, 10) + " entries"
	}
	return ""
}

// decideHealth reports the health of every server of the Raft configuration
// in, sorted by name then ID, and the records to keep for the next pass. It
// does not modify prev.
func decideHealth(prev map[raft.ServerID]healthRecord, in autopilotInput) (*structs.OperatorHealthReply, map[raft.ServerID]healthRecord) {
	members := map[raft.ServerID]apMember{}
	for _, m := range in.Members {
		// A server restarted under another name leaves its old one behind:
		// prefer the alive one.
		if old, ok := members[m.ID]; !ok || m.State == memberlist.StateAlive && old.State != memberlist.StateAlive {
			members[m.ID] = m
		}
	}
	next := make(map[raft.ServerID]healthRecord, len(in.Servers))
	out := &structs.OperatorHealthReply{Healthy: true, Leader: string(in.Self)}
	voters, healthyVoters := 0, 0
	for _, srv := range in.Servers {
		m, seen := members[srv.ID]
		sh := structs.ServerHealth{
			ID: string(srv.ID), Name: m.Name, Address: string(srv.Address), SerfStatus: serfStatus(m.State, seen),
			Version: m.Version, Voter: srv.Suffrage == raft.Voter, LastContact: -1,
		}
		if srv.ID == in.Self {
			sh.Leader, sh.Healthy, sh.LastContact = true, true, 0
			sh.LastTerm, sh.LastIndex = in.LeaderLastTerm, in.LeaderLastIndex
			if !seen {
				sh.SerfStatus = serfStatus(memberlist.StateAlive, true)
			}
		} else {
			if h, ok := in.Health[srv.ID]; ok && h.Err == nil {
				sh.LastContact, sh.LastTerm, sh.LastIndex = h.Stats.LastContact, h.Stats.LastTerm, h.Stats.LastIndex
			}
			sh.Healthy = seen && healthProblem(in, m) == ""
		}
		rec, ok := prev[srv.ID]
		if !ok || rec.healthy != sh.Healthy {
			rec = healthRecord{healthy: sh.Healthy, since: in.Now}
		}
		next[srv.ID] = rec
		sh.StableSince = rec.since
		if sh.Voter {
			voters++
			out.Voters = append(out.Voters, sh.ID)
			if sh.Healthy {
				healthyVoters++
			}
		}
		out.Healthy = out.Healthy && sh.Healthy
		out.Servers = append(out.Servers, sh)
	}
	out.FailureTolerance = max(0, healthyVoters-quorumOf(voters))
	slices.SortFunc(out.Servers, func(a, b structs.ServerHealth) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	slices.Sort(out.Voters)
	return out, next
}

// serfStatus names a gossip state as Nomad's SerfStatus does.
func serfStatus(st memberlist.NodeStateType, seen bool) string {
	switch {
	case !seen:
		return "none"
	case st == memberlist.StateAlive, st == memberlist.StateSuspect:
		return "alive"
	case st == memberlist.StateLeft:
		return "left"
	}
	return "failed"
}
