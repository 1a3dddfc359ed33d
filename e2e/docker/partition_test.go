package dockere2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// TestLeaderPartition: the leader is cut from the network under writers on
// the followers. The majority elects a new leader that serves writes; the
// isolated server steps down and acknowledges no write; healed, it rejoins
// and every server converges on the same state with no acknowledged write
// lost or applied twice.
func TestLeaderPartition(t *testing.T) {
	c := startCluster(t)
	leader := c.waitHealthy()
	majority := c.others(leader)
	w := c.startWriters("part", majority...)
	w.waitAcksAfter(t, time.Time{}, 5)

	cut := time.Now()
	c.disconnect(leader)
	t.Logf("leader %s cut from the network", leader.name)

	// A write sent to the isolated leader at once, while it may still believe
	// it leads, and one after it stepped down: neither may be acknowledged.
	c.isolatedWrite(leader, "isolated-early")

	var newLeader *agent
	waitFor(t, "the majority to elect a new leader", 30*time.Second, func() error {
		newLeader = nil
		for _, s := range majority {
			l, err := c.leaderOf(s)
			if err != nil {
				return err
			}
			if l == nil || l == leader || (newLeader != nil && l != newLeader) {
				return fmt.Errorf("%s sees leader %v", s.name, l)
			}
			newLeader = l
		}
		return nil
	})
	elected := time.Since(cut)
	w.waitAcksAfter(t, cut, 1)
	figure(t, "partition_new_leader", elected.Seconds(), "s")
	figure(t, "partition_first_write", w.firstAckAfter(cut).Sub(cut).Seconds(), "s")

	waitFor(t, "the isolated leader to step down", 30*time.Second, func() error {
		code, body, err := c.execHTTP(leader, "GET", "/v1/status/leader", nil)
		if err != nil {
			return err
		}
		var addr string
		if code == 200 {
			if err := json.Unmarshal([]byte(body), &addr); err != nil {
				return err
			}
		}
		if l := c.serverAt(addr); l == leader {
			return fmt.Errorf("%s still says it leads", leader.name)
		}
		return nil
	})
	t.Logf("isolated %s stepped down after %s", leader.name, time.Since(cut).Round(time.Millisecond))
	c.isolatedWrite(leader, "isolated-late")

	// The majority keeps serving writes while the partition lasts.
	w.waitAcksAfter(t, time.Now(), 10)

	c.connect(leader)
	healed := time.Now()
	c.waitHealthy()
	figure(t, "partition_heal_rejoin", time.Since(healed).Seconds(), "s")
	w.waitAcksAfter(t, healed, 5)
	w.stop()
	c.check()
}

// isolatedWrite registers a job through a's API from inside its container
// (cut off from the network) and records it in the history; an
// acknowledgement is an error: the isolated side must accept no write.
func (c *cluster) isolatedWrite(a *agent, jobID string) {
	c.t.Helper()
	body, err := json.Marshal(map[string]any{"Job": sleepJob(jobID, 0)})
	if err != nil {
		c.t.Fatal(err)
	}
	at := WriteAttempt{Writer: "isolated/" + a.name, JobID: jobID, Start: time.Now()}
	code, msg, err := c.execHTTP(a, "PUT", "/v1/jobs", body)
	at.End = time.Now()
	switch {
	case err != nil:
		at.Outcome, at.Detail = OutcomeUnknown, err.Error()
	case code/100 == 2:
		at.Outcome = OutcomeOK
		c.t.Errorf("isolated %s acknowledged write %s: %s", a.name, jobID, msg)
	case code/100 == 4 || code == 503 && !indeterminate(msg):
		at.Outcome, at.Detail = OutcomeFailed, fmt.Sprintf("%d %s", code, strings.TrimSpace(msg))
	default:
		at.Outcome, at.Detail = OutcomeUnknown, fmt.Sprintf("%d %s", code, strings.TrimSpace(msg))
	}
	c.hist.Record(at)
	c.t.Logf("write %s on isolated %s: %s after %s (%s)", jobID, a.name, at.Outcome, at.End.Sub(at.Start).Round(time.Millisecond), at.Detail)
}

// TestClientPartition: a client cut from every server keeps its tasks
// running; the servers mark its node down and replace its allocations on the
// other client; healed, it stops the duplicates, so exactly one copy of each
// allocation runs.
func TestClientPartition(t *testing.T) {
	c := startCluster(t)
	leader := c.waitHealthy()
	const count = 4
	job := sleepJob("svc", count)
	if out := c.register("setup", leader, job); out != OutcomeOK {
		t.Fatalf("registering %s: %s", job.ID, out)
	}
	var running []*structs.AllocListStub
	waitFor(t, fmt.Sprintf("%d allocations of %s running", count, job.ID), 60*time.Second, func() error {
		var err error
		running, err = c.runningAllocs(leader, job.ID)
		if err == nil && len(running) != count {
			err = fmt.Errorf("%d running", len(running))
		}
		return err
	})
	byNode := map[string][]string{}
	for _, a := range running {
		byNode[a.NodeName] = append(byNode[a.NodeName], a.ID)
	}
	victim, other := c.clients[0], c.clients[1]
	if len(byNode[other.name]) > len(byNode[victim.name]) {
		victim, other = other, victim
	}
	orig := byNode[victim.name]
	slices.Sort(orig)
	c.waitTasks(victim, orig)
	t.Logf("allocations by node: %v; cutting %s", byNode, victim.name)

	cut := time.Now()
	c.disconnect(victim)
	waitFor(t, victim.name+" marked down", 120*time.Second, func() error {
		return c.nodeStatusIs(leader, victim.name, structs.NodeStatusDown)
	})
	figure(t, "client_partition_marked_down", time.Since(cut).Seconds(), "s")
	waitFor(t, "the allocations replaced on "+other.name, 60*time.Second, func() error {
		all, err := c.runningAllocs(leader, job.ID)
		if err != nil {
			return err
		}
		on := 0
		for _, a := range all {
			if a.NodeName == other.name {
				on++
			}
		}
		if on != count {
			return fmt.Errorf("%d of %d running on %s", on, count, other.name)
		}
		return nil
	})
	figure(t, "client_partition_replaced", time.Since(cut).Seconds(), "s")
	// The partitioned client has not stopped its tasks: it cannot tell a
	// partition from a server outage.
	if have, err := c.tasks(victim); err != nil {
		t.Fatal(err)
	} else if !subset(orig, have) {
		t.Errorf("partitioned %s runs tasks of %v, want all of %v still running", victim.name, have, orig)
	}

	c.connect(victim)
	healed := time.Now()
	waitFor(t, victim.name+" ready again", 120*time.Second, func() error {
		return c.nodeStatusIs(leader, victim.name, structs.NodeStatusReady)
	})
	waitFor(t, "the duplicates on "+victim.name+" stopped", 120*time.Second, func() error {
		have, err := c.tasks(victim)
		if err != nil {
			return err
		}
		for _, id := range orig {
			if slices.Contains(have, id) {
				return fmt.Errorf("%s still runs lost allocation %s", victim.name, id)
			}
		}
		return nil
	})
	figure(t, "client_heal_duplicates_stopped", time.Since(healed).Seconds(), "s")

	// Exactly one copy of each allocation runs, on the machines and in the
	// servers' view alike.
	final, err := c.runningAllocs(leader, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	var want, have []string
	names := map[string]int{}
	for _, a := range final {
		want = append(want, a.ID)
		names[a.Name]++
	}
	for _, cl := range c.clients {
		ids, err := c.tasks(cl)
		if err != nil {
			t.Fatal(err)
		}
		have = append(have, ids...)
	}
	slices.Sort(want)
	slices.Sort(have)
	if len(final) != count || len(names) != count || !slices.Equal(want, have) {
		t.Errorf("after healing: servers say %d running (%v by name), machines run %v, want exactly one copy of each of %d: %v",
			len(final), names, have, count, want)
	}
	c.check()
}

// runningAllocs lists job's allocations the servers want running and the
// client reports running.
func (c *cluster) runningAllocs(a *agent, jobID string) ([]*structs.AllocListStub, error) {
	var allocs []*structs.AllocListStub
	if _, err := c.get(a, "/v1/job/"+jobID+"/allocations", &allocs); err != nil {
		return nil, err
	}
	var out []*structs.AllocListStub
	for _, al := range allocs {
		if al.DesiredStatus == structs.AllocDesiredStatusRun && al.ClientStatus == structs.AllocClientStatusRunning {
			out = append(out, al)
		}
	}
	return out, nil
}

// waitTasks waits until a's container runs a task of every allocation in ids.
func (c *cluster) waitTasks(a *agent, ids []string) {
	c.t.Helper()
	waitFor(c.t, fmt.Sprintf("the tasks of %v on %s", ids, a.name), 30*time.Second, func() error {
		have, err := c.tasks(a)
		if err == nil && !subset(ids, have) {
			err = fmt.Errorf("running %v", have)
		}
		return err
	})
}

func (c *cluster) nodeStatusIs(a *agent, name string, want structs.NodeStatus) error {
	var nodes []*structs.NodeListStub
	if _, err := c.get(a, "/v1/nodes", &nodes); err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Name == name {
			if n.Status != want {
				return fmt.Errorf("node %s is %s", name, n.Status)
			}
			return nil
		}
	}
	return fmt.Errorf("no node %s", name)
}

func subset(small, big []string) bool {
	for _, s := range small {
		if !slices.Contains(big, s) {
			return false
		}
	}
	return true
}
