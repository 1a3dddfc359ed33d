package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// TableSchedulerConfig holds the one structs.SchedulerConfiguration of the
// cluster, once one has been set.
const TableSchedulerConfig = "scheduler_config"

// schedulerConfigTable is a singleton: its only index is true for every
// object, and unique.
func schedulerConfigTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: TableSchedulerConfig,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, AllowMissing: true,
				Indexer: &memdb.ConditionalIndex{Conditional: func(any) (bool, error) { return true, nil }}},
		},
	}
}

// SchedulerConfig returns the stored scheduler configuration, or the default
// (with zero indexes) when none was ever set. Never nil.
func (s *Snapshot) SchedulerConfig() *structs.SchedulerConfiguration {
	if c := watchedFirst[*structs.SchedulerConfiguration](s, TableSchedulerConfig, "id"); c != nil {
		return c
	}
	return structs.DefaultSchedulerConfiguration()
}

// SchedulerConfig returns the stored scheduler configuration, or the default.
func (s *StateStore) SchedulerConfig() *structs.SchedulerConfiguration {
	return s.Snapshot().SchedulerConfig()
}

// UpsertSchedulerConfig stores config (which the store then owns). With cas,
// it does so only if the stored configuration's ModifyIndex is
// config.ModifyIndex (0 when none is stored), and reports whether it did.
func (s *StateStore) UpsertSchedulerConfig(index uint64, config *structs.SchedulerConfiguration, cas bool) (bool, error) {
	updated := false
	err := s.write(index, func(w *WriteTxn) error {
		var err error
		updated, err = w.UpsertSchedulerConfig(config, cas)
		return err
	})
	return updated, err
}

// UpsertSchedulerConfig is StateStore.UpsertSchedulerConfig inside the
// transaction.
func (w *WriteTxn) UpsertSchedulerConfig(config *structs.SchedulerConfiguration, cas bool) (bool, error) {
	var old *structs.SchedulerConfiguration
	if raw, err := w.txn.First(TableSchedulerConfig, "id"); err != nil {
		return false, fmt.Errorf("state: reading scheduler config: %w", err)
	} else if raw != nil {
		old = raw.(*structs.SchedulerConfiguration)
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
	w.touch(TableSchedulerConfig)
	config.CreateIndex, config.ModifyIndex = w.index, w.index
	if old != nil {
		config.CreateIndex = old.CreateIndex
	}
	if err := w.txn.Insert(TableSchedulerConfig, config); err != nil {
		return false, fmt.Errorf("state: inserting scheduler config: %w", err)
	}
	return true, nil
}

// persistSchedulerConfig writes the stored configuration, if any, to a snapshot.
func (s *Snapshot) persistSchedulerConfig(put func(recordKind, any) error) error {
	raw, err := s.txn.First(TableSchedulerConfig, "id")
	if err != nil {
		return fmt.Errorf("state: persisting scheduler config: %w", err)
	}
	if raw == nil {
		return nil
	}
	if err := put(recordSchedulerConfig, raw); err != nil {
		return fmt.Errorf("state: persisting scheduler config: %w", err)
	}
	return nil
}
