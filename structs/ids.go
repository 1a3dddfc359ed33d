package structs

import "github.com/google/uuid"

// GenerateUUID returns a random RFC 4122 UUID, the form of every ID orch mints
// (allocations, evaluations, nodes).
func GenerateUUID() string { return uuid.NewString() }

// ShortID is the first eight characters of an ID, as the CLI shows it.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
