package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// TableSchedulerConfig holds the one structs.SchedulerConfiguration of the
// cluster, once one has been set.
const TableSchedulerConfig = "scheduler_config"

// schedulerConfigTable is a singleton (singletonTable).
func schedulerConfigTable() *memdb.TableSchema { return singletonTable(TableSchedulerConfig) }

// singletonTable is the schema of a table of one object (a configuration):
// its only index is true for every object, and unique.
func singletonTable(name string) *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: name,
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
	return upsertSingleton(w, TableSchedulerConfig, "scheduler config", config, cas,
		func(c *structs.SchedulerConfiguration) (*uint64, *uint64) { return &c.CreateIndex, &c.ModifyIndex })
}

// upsertSingleton stores config as the one object of table (with cas, only
// if the stored one's ModifyIndex is config's, 0 when none is stored) and
// reports whether it did. indexes points at an object's CreateIndex and
// ModifyIndex; what names the object in errors.
func upsertSingleton[T any](w *WriteTxn, table, what string, config *T, cas bool, indexes func(*T) (create, modify *uint64)) (bool, error) {
	var old *T
	if raw, err := w.txn.First(table, "id"); err != nil {
		return false, fmt.Errorf("state: reading %s: %w", what, err)
	} else if raw != nil {
		old = raw.(*T)
	}
	create, modify := indexes(config)
	if cas {
		var current uint64
		if old != nil {
			_, m := indexes(old)
			current = *m
		}
		if current != *modify {
			return false, nil
		}
	}
	w.touch(table)
	*create, *modify = w.index, w.index
	if old != nil {
		c, _ := indexes(old)
		*create = *c
	}
	if err := w.txn.Insert(table, config); err != nil {
		return false, fmt.Errorf("state: inserting %s: %w", what, err)
	}
	return true, nil
}

// persistSchedulerConfig writes the stored configuration, if any, to a snapshot.
func (s *Snapshot) persistSchedulerConfig(put func(recordKind, any) error) error {
	return s.persistSingleton(TableSchedulerConfig, recordSchedulerConfig, "scheduler config", put)
}

// persistSingleton writes the one object of table, if any, to a snapshot as
// a record of kind.
func (s *Snapshot) persistSingleton(table string, kind recordKind, what string, put func(recordKind, any) error) error {
	raw, err := s.txn.First(table, "id")
	if err != nil {
		return fmt.Errorf("state: persisting %s: %w", what, err)
	}
	if raw == nil {
		return nil
	}
	if err := put(kind, raw); err != nil {
		return fmt.Errorf("state: persisting %s: %w", what, err)
	}
	return nil
}
