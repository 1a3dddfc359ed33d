package client

import (
	"fmt"
	"testing"

	"github.com/orch-io/orch/structs"
)

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
