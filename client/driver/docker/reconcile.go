package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"
)

// DanglingPeriod implements driver.Reconciler.
func (d *Docker) DanglingPeriod() time.Duration {
	if !d.cfg.Dangling.Enabled {
		return 0
	}
	return d.cfg.Dangling.Period
}

// ReconcileDangling implements driver.Reconciler: it removes the containers
// labelled with an allocation that owned does not know, once they are older
// than the creation grace (a container being started belongs to an
// allocation the client may not have recorded yet).
func (d *Docker) ReconcileDangling(ctx context.Context, owned func(allocID string) bool) (int, error) {
	list, err := d.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", labelAllocID)})
	if err != nil {
		return 0, fmt.Errorf("docker: listing containers: %w", err)
	}
	grace := time.Now().Add(-d.cfg.Dangling.CreationGrace)
	removed := 0
	for _, c := range list.Items {
		alloc := c.Labels[labelAllocID]
		if alloc == "" || owned(alloc) || time.Unix(c.Created, 0).After(grace) {
			continue
		}
		d.logger.Info("removing a dangling container", "container_id", short(c.ID), "alloc_id", alloc, "task", c.Labels[labelTask])
		if _, err := d.api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			return removed, fmt.Errorf("docker: removing dangling container %s: %w", short(c.ID), err)
		}
		removed++
	}
	return removed, nil
}
