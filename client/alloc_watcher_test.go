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
	c, err := NewClient(testClientConfig(t, f, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	waitFor(t, "the client to know it registered", c.Registered)

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

// PullAllocs names the listed allocations that are unknown or changed,
// sorted, and nothing else.
func TestPullAllocs(t *testing.T) {
	listed := map[string]uint64{"new": 9, "changed": 8, "same": 5, "older-list": 3}
	fetched := map[string]uint64{"changed": 7, "same": 5, "older-list": 4, "gone": 2}
	if got := fmt.Sprint(PullAllocs(listed, fetched)); got != "[changed new]" {
		t.Errorf("PullAllocs = %s, want [changed new]", got)
	}
}
