package scheduler

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

func TestNewIDIsADeterministicVersion4UUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for range 1000 {
		id := newID(a)
		if !re.MatchString(id) {
			t.Fatalf("%q is not a version-4 UUID", id)
		}
		if id != newID(b) {
			t.Fatal("same seed, different IDs")
		}
		if seen[id] {
			t.Fatalf("%q minted twice", id)
		}
		seen[id] = true
	}
}
