package state

import (
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

func TestNodeDrainAndStatusEvents(t *testing.T) {
	s := NewStateStore()
	n := structstest.Node("n1", "n1")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.UpsertNode(1, n))
	must(s.UpdateNodeStatus(2, "n1", structs.NodeStatusDown, 100))
	must(s.UpdateNodeStatus(3, "n1", structs.NodeStatusDown, 101)) // no change: no event
	started := time.Unix(200, 0)
	w := s.Begin(4)
	must(w.UpdateNodeDrain("n1", NodeDrainUpdate{Strategy: &structs.DrainStrategy{StartedAt: started},
		Event: &structs.NodeEvent{Message: structs.NodeEventDrainStarted}, UpdatedAt: started}))
	must(w.Commit())
	w = s.Begin(5)
	must(w.UpdateNodeDrain("n1", NodeDrainUpdate{Complete: true,
		Event: &structs.NodeEvent{Message: structs.NodeEventDrainComplete}, UpdatedAt: started.Add(time.Minute)}))
	must(w.Commit())

	got := s.NodeByID("n1")
	var msgs []string
	for _, e := range got.Events {
		msgs = append(msgs, e.Message)
	}
	want := []string{"Node status down", structs.NodeEventDrainStarted, structs.NodeEventDrainComplete}
	if len(msgs) != len(want) {
		t.Fatalf("events %q, want %q", msgs, want)
	}
	for i := range want {
		if msgs[i] != want[i] {
			t.Fatalf("events %q, want %q", msgs, want)
		}
	}
	if got.Events[2].CreateIndex != 5 || got.DrainStrategy != nil || got.SchedulingEligibility != structs.NodeIneligible ||
		got.LastDrain.Status != structs.DrainStatusComplete || !got.LastDrain.StartedAt.Equal(started) {
		t.Fatalf("after the drain: %+v %+v %s", got.LastDrain, got.DrainStrategy, got.SchedulingEligibility)
	}
	// A client registering again keeps all of it.
	must(s.UpsertNode(6, structstest.Node("n1", "n1")))
	if again := s.NodeByID("n1"); len(again.Events) != 3 || again.LastDrain == nil || again.SchedulingEligibility != structs.NodeIneligible {
		t.Fatalf("re-registration dropped server fields: %+v", again)
	}
}
