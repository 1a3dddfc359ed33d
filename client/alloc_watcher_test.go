package client

import (
	"fmt"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// The watch fetches an allocation when it is new and again only when the
// servers change it (a stop): the client's own status reports, which wake
// the watch, fetch nothing, and the stopped allocation is seen and stopped.
func TestAllocWatcherFetchesOnlyNewOrChangedAllocs(t *testing.T) {
	f := newFakeServer(t, time.Second)
	dataDir := t.TempDir()
	c := startRegisteredClient(t, f, dataDir)

	job := sleeperJob()
	a1 := f.addAlloc(c.NodeID(), job, 0)
	a2 := f.addAlloc(c.NodeID(), job, 1)
	waitClientStatus(t, f, a1.ID, structs.AllocClientStatusRunning)
	waitClientStatus(t, f, a2.ID, structs.AllocClientStatusRunning)
	pid1 := taskPID(t, dataDir, a1.ID, 0)

	f.stopAlloc(a1.ID)
	waitClientStatus(t, f, a1.ID, structs.AllocClientStatusComplete)
	waitFor(t, "a1's process to end", func() bool { return !processAlive(pid1) })
	// Once the watch has taken in everything so far (it blocks on the
	// latest index), the fetches are final.
	idx := f.currentIndex()
	waitFor(t, "the watch to catch up", func() bool { return f.queriedSince(0, idx) })

	counts := map[string]int{}
	for _, id := range f.fetched() {
		counts[id]++
	}
	want := map[string]int{a1.ID: 2, a2.ID: 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("fetches by allocation = %v, want %v (a1 when placed and when stopped, a2 when placed)", counts, want)
	}
}

// Pull names the listed allocations that are unknown or changed, sorted,
// and nothing else; Took records what was fetched and forgets what is no
// longer listed.
func TestAllocIndexes(t *testing.T) {
	listed := map[string]uint64{"new": 9, "changed": 8, "same": 5, "older-list": 3}
	fetched := AllocIndexes{"changed": 7, "same": 5, "older-list": 4, "gone": 2}
	if got := fmt.Sprint(fetched.Pull(listed)); got != "[changed new]" {
		t.Errorf("Pull = %s, want [changed new]", got)
	}
	fetched.Took(listed, []*structs.Allocation{{ID: "new", AllocModifyIndex: 9}, {ID: "changed", AllocModifyIndex: 8}})
	if got := fmt.Sprint(map[string]uint64(fetched)); got != "map[changed:8 new:9 older-list:4 same:5]" {
		t.Errorf("after Took: %s, want the fetched indexes and no gone", got)
	}
}
