package structs

import (
	"fmt"
	"testing"
)

// wirePlacement is an allocation as a plan of the 100k simulation places it
// (orch-sim's Raft log: ~1.45 KB each before the allocation's fields were
// omitted when empty).
func wirePlacement(i int) *Allocation {
	node := fmt.Sprintf("0034ac7f-91d0-4100-a35f-67c11ce1%04d", i%10000)
	a := &Allocation{
		ID: fmt.Sprintf("f1a2794e-da6a-4688-845b-9689876f%04d", i%10000), Namespace: "default",
		EvalID: "de6c38bb-0174-40e7-bbdb-678ddc8f3387", RequestID: "260549bc-e211-4fe0-8a52-c03e491b0393",
		Name: fmt.Sprintf("sim-0006.app[%d]", i), NodeID: node, NodeName: "sim-04120", JobID: "sim-0006", TaskGroup: "app",
		AllocatedResources: &AllocatedResources{
			Tasks:  map[string]*Resources{"app": {CPU: 100, MemoryMB: 128}},
			Shared: AllocatedSharedResources{DiskMB: 10},
		},
		DesiredStatus: AllocDesiredStatusRun, ClientStatus: AllocClientStatusPending,
		Metrics: &AllocMetric{
			NodesEvaluated: 13,
			NodesAvailable: map[string]int{"dc1": 1667, "dc2": 1667, "dc3": 1666},
		},
		CreateTime: 1796654925892895837, ModifyTime: 1796654925892895837,
	}
	for j := range 5 {
		a.Metrics.ScoreMetaData = append(a.Metrics.ScoreMetaData, &NodeScoreMeta{
			NodeID: fmt.Sprintf("7e925f61-2837-4a4d-9c8e-6426f0bf%04d", j), NormScore: 0.016263897863901713,
			Scores: NodeScoresOf(map[string]float64{"binpack": 0.03227842174054965, "job-anti-affinity": -0.002}),
		})
	}
	return a
}

// wireFetched is a placement as a client fetches it (Alloc.GetAllocs):
// without its job (sent once per version) and its placement metrics.
func wireFetched(i int) *Allocation {
	a := wirePlacement(i)
	a.Metrics = nil
	return a
}

// wireRunning is a client's report that an allocation runs, as the
// simulated and the real clients send it (~865 bytes before).
func wireRunning(i int) *Allocation {
	t := int64(1796654926346827392)
	return &Allocation{
		ID: fmt.Sprintf("4484e8b4-8809-426c-9a60-cf9b96e7%04d", i%10000), ClientStatus: AllocClientStatusRunning,
		TaskStates: map[string]*TaskState{"app": {State: TaskStateRunning, StartedAt: t, Events: []*TaskEvent{
			{Type: TaskReceived, Time: t, DisplayMessage: "Task received by client"},
			{Type: TaskStarted, Time: t, DisplayMessage: "Task started by client"},
		}}},
		ModifyTime: t + 88806243,
	}
}

// BenchmarkAllocWire: what 1,000 allocations cost in msgpack as a plan's
// placements (a Raft entry: encoded once by the leader, decoded by every
// server), as a client fetches them, and as a client's report.
func BenchmarkAllocWire(b *testing.B) {
	for _, c := range []struct {
		name string
		make func(int) *Allocation
	}{{"placements", wirePlacement}, {"fetched", wireFetched}, {"running", wireRunning}} {
		allocs := make([]*Allocation, 1000)
		for i := range allocs {
			allocs[i] = c.make(i)
		}
		b.Run(c.name+"/encode", func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = EncodeAfter(buf[:0], allocs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(buf))/float64(len(allocs)), "bytes/alloc")
		})
		b.Run(c.name+"/decode", func(b *testing.B) {
			buf, err := Encode(allocs)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				var out []*Allocation
				if err := Decode(buf, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
