package client

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/orch-io/orch/structs"
)

// buildNode fingerprints the machine and the drivers into the Node the client
// registers. A fact that cannot be read is logged and left out: a node with a
// partial fingerprint is still useful.
func (c *Client) buildNode() *structs.Node {
	facts, err := gatherHostFacts(c.cfg.DataDir)
	if err != nil {
		c.logger.Warn("fingerprint incomplete", "error", err)
	}
	fp := fingerprintFromFacts(facts)

	node := &structs.Node{
		ID:            c.nodeID,
		SecretID:      c.secretID,
		Name:          c.cfg.NodeName,
		Datacenter:    c.cfg.Datacenter,
		NodeClass:     c.cfg.NodeClass,
		NodePool:      c.cfg.NodePool,
		HTTPAddr:      c.cfg.HTTPAddr,
		Attributes:    fp.Attributes,
		Meta:          maps.Clone(c.cfg.Meta),
		NodeResources: fp.Resources,
		ReservedResources: &structs.NodeResources{CPU: c.cfg.Reserved.CPU, MemoryMB: c.cfg.Reserved.MemoryMB, DiskMB: c.cfg.Reserved.DiskMB,
			ReservedHostPorts: c.cfg.Reserved.ReservedHostPorts, Cores: slices.Clone(c.cfg.Reserved.Cores)},
		Drivers:               make(map[string]*structs.DriverInfo, len(c.drivers)),
		Status:                structs.NodeStatusReady,
		StatusUpdatedAt:       time.Now().Unix(),
		SchedulingEligibility: structs.NodeEligible,
	}
	if node.Meta == nil {
		node.Meta = map[string]string{}
	}
	if node.NodeResources != nil {
		node.NodeResources.MinDynamicPort, node.NodeResources.MaxDynamicPort = c.cfg.MinDynamicPort, c.cfg.MaxDynamicPort
		for _, core := range c.cfg.Reserved.Cores {
			if !slices.Contains(node.NodeResources.Cores, core) {
				c.logger.Warn("reserved core is not one of the node's cores: nothing to hold back", "core", core,
					"node_cores", structs.FormatCoreList(node.NodeResources.Cores))
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), driverFingerprintTimeout)
	defer cancel()
	for name, d := range c.drivers {
		info := d.Fingerprint(ctx)
		node.Drivers[name] = info
		maps.Copy(node.Attributes, driverAttributes(name, info))
	}
	return node
}

// driverFingerprintTimeout bounds fingerprinting all the drivers (the docker
// driver asks its daemon).
const driverFingerprintTimeout = 10 * time.Second

// driverAttributes are the node attributes of a driver's fingerprint:
// "driver.<name>" = "1" when it is detected and healthy, and the driver's own
// attributes ("driver.docker.version"). Pure.
func driverAttributes(name string, info *structs.DriverInfo) map[string]string {
	attrs := map[string]string{}
	if !info.Detected {
		return attrs
	}
	maps.Copy(attrs, info.Attributes)
	if info.Healthy {
		attrs["driver."+name] = "1"
	} else {
		delete(attrs, "driver."+name)
	}
	return attrs
}
