package state

import (
	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// TableAutopilotConfig holds the one structs.AutopilotConfig of the
// cluster, once one has been set (by the first leader, from its agent's
// autopilot block, or by an operator).
const TableAutopilotConfig = "autopilot_config"

// autopilotConfigTable is a singleton (singletonTable).
func autopilotConfigTable() *memdb.TableSchema { return singletonTable(TableAutopilotConfig) }

// AutopilotConfig returns the stored autopilot configuration, nil when none
// was ever set. The store owns it: callers copy before changing it.
func (s *Snapshot) AutopilotConfig() *structs.AutopilotConfig {
	return watchedFirst[*structs.AutopilotConfig](s, TableAutopilotConfig, "id")
}

// AutopilotConfig returns the stored autopilot configuration, or nil.
func (s *StateStore) AutopilotConfig() *structs.AutopilotConfig {
	return s.Snapshot().AutopilotConfig()
}

// UpsertAutopilotConfig stores config (which the store then owns). With cas,
// it does so only if the stored configuration's ModifyIndex is
// config.ModifyIndex (0 when none is stored), and reports whether it did.
func (s *StateStore) UpsertAutopilotConfig(index uint64, config *structs.AutopilotConfig, cas bool) (bool, error) {
	updated := false
	err := s.write(index, func(w *WriteTxn) error {
		var err error
		updated, err = w.UpsertAutopilotConfig(config, cas)
		return err
	})
	return updated, err
}

// UpsertAutopilotConfig is StateStore.UpsertAutopilotConfig inside the
// transaction.
func (w *WriteTxn) UpsertAutopilotConfig(config *structs.AutopilotConfig, cas bool) (bool, error) {
	return upsertSingleton(w, TableAutopilotConfig, "autopilot config", config, cas,
		func(c *structs.AutopilotConfig) (*uint64, *uint64) { return &c.CreateIndex, &c.ModifyIndex })
}

// persistAutopilotConfig writes the stored configuration, if any, to a
// snapshot.
func (s *Snapshot) persistAutopilotConfig(put func(recordKind, any) error) error {
	return s.persistSingleton(TableAutopilotConfig, recordAutopilotConfig, "autopilot config", put)
}
