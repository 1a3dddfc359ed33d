package command

import (
	"fmt"
	"slices"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// Users name jobs, nodes, allocations and evaluations by ID prefix, as in
// Nomad: the list endpoints' ?prefix= finds the candidates, and exactly one
// must match.

// maxListedMatches bounds the matches an ambiguity error lists.
const maxListedMatches = 10

// lookupJob returns the job named idOrPrefix: an exact ID first, then a
// unique prefix.
func lookupJob(client *api.Client, idOrPrefix string) (*structs.Job, error) {
	job, _, err := client.Jobs().Info(idOrPrefix, nil)
	if err == nil {
		return job, nil
	}
	if !api.IsNotFound(err) {
		return nil, errorf(err, "Error querying job %q", idOrPrefix)
	}
	stubs, _, err := client.Jobs().List(&api.QueryOptions{Prefix: idOrPrefix})
	if err != nil {
		return nil, errorf(err, "Error querying jobs")
	}
	ids := make([]string, len(stubs))
	for i, s := range stubs {
		ids[i] = s.ID
	}
	// Job IDs are names: show them whole.
	id, err := pickOne("job", idOrPrefix, ids, func(id string) string { return id })
	if err != nil {
		return nil, err
	}
	job, _, err = client.Jobs().Info(id, nil)
	if err != nil {
		return nil, errorf(err, "Error querying job %q", id)
	}
	return job, nil
}

// resolveAllocID returns the ID of the allocation whose ID starts with prefix.
func resolveAllocID(client *api.Client, prefix string) (string, error) {
	stubs, _, err := client.Allocations().List(&api.QueryOptions{Prefix: prefix})
	if err != nil {
		return "", errorf(err, "Error querying allocations")
	}
	ids := make([]string, len(stubs))
	for i, s := range stubs {
		ids[i] = s.ID
	}
	return pickOne("allocation", prefix, ids, structs.ShortID)
}

// resolveNodeID returns the ID of the node whose ID starts with prefix.
func resolveNodeID(client *api.Client, prefix string) (string, error) {
	stubs, _, err := client.Nodes().List(&api.QueryOptions{Prefix: prefix})
	if err != nil {
		return "", errorf(err, "Error querying nodes")
	}
	ids := make([]string, len(stubs))
	for i, s := range stubs {
		ids[i] = s.ID
	}
	return pickOne("node", prefix, ids, structs.ShortID)
}

// pickOne returns the one ID of ids (the matches of prefix), the one equal to
// prefix, or an error that names the matches (shown by show, or whole when
// show would make two of them look the same).
func pickOne(kind, prefix string, ids []string, show func(string) string) (string, error) {
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no %s matches prefix %q", kind, prefix)
	case 1:
		return ids[0], nil
	}
	if slices.Contains(ids, prefix) {
		return prefix, nil
	}
	shown := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		s := show(id)
		if seen[s] {
			show = func(id string) string { return id }
			return pickOne(kind, prefix, ids, show)
		}
		seen[s] = true
		shown = append(shown, s)
	}
	if len(shown) > maxListedMatches {
		shown = append(shown[:maxListedMatches], fmt.Sprintf("and %d more", len(ids)-maxListedMatches))
	}
	return "", fmt.Errorf("prefix %q matches %d %ss: %s; use more characters",
		prefix, len(ids), kind, strings.Join(shown, ", "))
}
