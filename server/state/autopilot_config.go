package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// TableAutopilotConfig holds the one structs.AutopilotConfig of the
// cluster, once one has been set (by the first leader, from its agent's
// autopilot block, or by an operator).
const TableAutopilotConfig = "autopilot_config"

// autopilotConfigTable is a singleton, as schedulerConfigTable.
func autopilotConfigTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: TableAutopilotConfig,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, AllowMissing: true,
				Indexer: &memdb.ConditionalIndex{Conditional: func(any) (bool, error) { return true, nil }}},
		},
	}
}

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
	var old *structs.AutopilotConfig
	if raw, err := w.txn.First(TableAutopilotConfig, "id"); err != nil {
		return false, fmt.Errorf("state: reading autopilot config: %w", err)
	} else if raw != nil {
		old = raw.(*structs.AutopilotConfig)
	}
	if cas {
		var current uint64
		if old != nil {
			current = old.ModifyIndex
		}
		if current != config.ModifyIndex {
			return false, nil
		}
	}
	w.touch(TableAutopilotConfig)
	config.CreateIndex, config.ModifyIndex = w.index, w.index
	if old != nil {
		config.CreateIndex = old.CreateIndex
	}
	if err := w.txn.Insert(TableAutopilotConfig, config); err != nil {
		return false, fmt.Errorf("state: inserting autopilot config: %w", err)
	}
	return true, nil
}

// persistAutopilotConfig writes the stored configuration, if any, to a
// snapshot.
func (s *Snapshot) persistAutopilotConfig(put func(recordKind, any) error) error {
	raw, err := s.txn.First(TableAutopilotConfig, "id")
	if err != nil {
		return fmt.Errorf("state: persisting autopilot config: %w", err)
	}
	if raw == nil {
		return nil
	}
	if err := put(recordAutopilotConfig, raw); err != nil {
		return fmt.Errorf("state: persisting autopilot config: %w", err)
	}
	return nil
}
