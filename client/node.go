package client

import (
	"maps"
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
		ID:                    c.nodeID,
		SecretID:              c.secretID,
		Name:                  c.cfg.NodeName,
		Datacenter:            c.cfg.Datacenter,
		NodeClass:             c.cfg.NodeClass,
		NodePool:              c.cfg.NodePool,
		HTTPAddr:              c.cfg.HTTPAddr,
		Attributes:            fp.Attributes,
		Meta:                  maps.Clone(c.cfg.Meta),
		NodeResources:         fp.Resources,
		ReservedResources:     &structs.NodeResources{}, // Nomad reserves nothing by default
		Drivers:               make(map[string]*structs.DriverInfo, len(c.drivers)),
		Status:                structs.NodeStatusReady,
		StatusUpdatedAt:       time.Now().Unix(),
		SchedulingEligibility: structs.NodeEligible,
	}
	if node.Meta == nil {
		node.Meta = map[string]string{}
	}
	node.ReservedResources.ReservedHostPorts = c.cfg.ReservedPorts
	if node.NodeResources != nil {
		node.NodeResources.MinDynamicPort, node.NodeResources.MaxDynamicPort = c.cfg.MinDynamicPort, c.cfg.MaxDynamicPort
	}
	for name, d := range c.drivers {
		info := d.Fingerprint()
		node.Drivers[name] = info
		if info.Detected && info.Healthy {
			node.Attributes["driver."+name] = "1"
		}
	}
	return node
}
