package state

import (
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/orch-io/orch/structs"
)

// The snapshot format: a stream of msgpack values, each record a kind followed
// by one object, so neither writing nor reading needs the whole state in one
// buffer. Unknown kinds are an error: a snapshot is only ever read by a server
// of the same or a newer version.
type recordKind uint8

const (
	recordIndex recordKind = iota + 1
	recordJob
	recordNode
	recordAlloc
	recordEval
	recordSchedulerConfig // appended: see scheduler_config.go
	recordRequest         // appended: see requests.go
	recordACLPolicy       // appended: see acl.go
	recordACLToken
	recordACLBootstrap
	recordServiceRegistration // appended: see services.go
	recordJobVersion          // appended: see job_versions.go
	recordDeployment          // appended: see deployments.go
	recordNamespace           // appended: see namespaces.go
	recordACLRole             // appended: see acl.go
	recordPeriodicLaunch      // appended: see periodic.go
	recordAutopilotConfig     // appended: see autopilot_config.go
)

// Persist writes every object of the snapshot to w (the Raft FSM snapshot).
func (s *Snapshot) Persist(w io.Writer) error {
	enc := codec.NewEncoder(w, structs.MsgpackHandle)
	put := func(kind recordKind, v any) error {
		if err := enc.Encode(kind); err != nil {
			return err
		}
		return enc.Encode(v)
	}
	for _, t := range []string{TableJobs, TableNodes, TableAllocs, TableEvals, TableSchedulerConfig,
		TableACLPolicies, TableACLTokens, TableACLBootstrap, TableServiceRegistrations, TableJobVersions, TableDeployments, TableNamespaces, TableACLRoles, TablePeriodicLaunches, TableAutopilotConfig} {
		if err := put(recordIndex, &indexEntry{Key: t, Value: s.Index(t)}); err != nil {
			return fmt.Errorf("state: persisting index of %s: %w", t, err)
		}
	}
	for _, e := range list[*indexEntry](s.txn, tableIndex, "id_prefix", nodeAllocsKey("")) {
		if err := put(recordIndex, e); err != nil {
			return fmt.Errorf("state: persisting index %s: %w", e.Key, err)
		}
	}
	for _, j := range s.Jobs(structs.AllNamespaces, "") {
		if err := put(recordJob, j); err != nil {
			return fmt.Errorf("state: persisting job %q: %w", j.ID, err)
		}
	}
	for _, n := range s.Nodes("") {
		if err := put(recordNode, n); err != nil {
			return fmt.Errorf("state: persisting node %s: %w", n.ID, err)
		}
	}
	for _, a := range s.Allocs("") {
		if err := put(recordAlloc, a); err != nil {
			return fmt.Errorf("state: persisting alloc %s: %w", a.ID, err)
		}
	}
	for _, e := range s.Evals("") {
		if err := put(recordEval, e); err != nil {
			return fmt.Errorf("state: persisting eval %s: %w", e.ID, err)
		}
	}
	if err := s.persistSchedulerConfig(put); err != nil {
		return err
	}
	if err := s.persistACL(put); err != nil {
		return err
	}
	if err := s.persistServiceRegistrations(put); err != nil {
		return err
	}
	if err := s.persistJobVersions(put); err != nil {
		return err
	}
	if err := s.persistDeployments(put); err != nil {
		return err
	}
	if err := s.persistNamespaces(put); err != nil {
		return err
	}
	if err := s.persistPeriodicLaunches(put); err != nil {
		return err
	}
	if err := s.persistAutopilotConfig(put); err != nil {
		return err
	}
	return s.persistRequests(put)
}

// Restore replaces the whole content of the store with what Persist wrote.
// On error the store is left as it was.
func (s *StateStore) Restore(r io.Reader) error {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	txn := db.Txn(true)
	defer txn.Abort()
	usage := nodeUsages{}
	dec := codec.NewDecoder(r, structs.MsgpackHandle)
	for n := 0; ; n++ {
		var kind recordKind
		if err := dec.Decode(&kind); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("state: restoring record %d: %w", n, err)
		}
		var table string
		var obj any
		switch kind {
		case recordIndex:
			table, obj = tableIndex, &indexEntry{}
		case recordJob:
			table, obj = TableJobs, &structs.Job{}
		case recordNode:
			table, obj = TableNodes, &structs.Node{}
		case recordAlloc:
			table, obj = TableAllocs, &structs.Allocation{}
		case recordEval:
			table, obj = TableEvals, &structs.Evaluation{}
		case recordSchedulerConfig:
			table, obj = TableSchedulerConfig, &structs.SchedulerConfiguration{}
		case recordAutopilotConfig:
			table, obj = TableAutopilotConfig, &structs.AutopilotConfig{}
		case recordDeployment:
			table, obj = TableDeployments, &structs.Deployment{}
		case recordJobVersion:
			table, obj = TableJobVersions, &structs.Job{}
		case recordRequest:
			table, obj = TableRequests, &RequestOutcome{}
		case recordACLPolicy:
			table, obj = TableACLPolicies, &structs.ACLPolicy{}
		case recordACLToken:
			table, obj = TableACLTokens, &structs.ACLToken{}
		case recordACLBootstrap:
			table, obj = TableACLBootstrap, &ACLBootstrap{}
		case recordACLRole:
			table, obj = TableACLRoles, &structs.ACLRole{}
		case recordServiceRegistration:
			table, obj = TableServiceRegistrations, &structs.ServiceRegistration{}
		case recordNamespace:
			table, obj = TableNamespaces, &structs.Namespace{}
		case recordPeriodicLaunch:
			table, obj = TablePeriodicLaunches, &structs.PeriodicLaunch{}
		default:
			return fmt.Errorf("state: restoring record %d: unknown kind %d", n, kind)
		}
		if err := dec.Decode(obj); err != nil {
			return fmt.Errorf("state: restoring record %d (%s): %w", n, table, err)
		}
		defaultNamespaceOf(obj) // a snapshot from before namespaces
		if a, ok := obj.(*structs.Allocation); ok {
			a.CacheComparable()
			usage.move(txn, nil, a) // snapshots do not carry the node usage
		}

		if err := txn.Insert(table, obj); err != nil {
			return fmt.Errorf("state: restoring record %d (%s): %w", n, table, err)
		}
	}
	if err := ensureDefaultNamespace(txn); err != nil {
		return err
	}
	if err := ensureNodeAllocsKeys(txn); err != nil {
		return err
	}
	if err := usage.flush(txn); err != nil {
		return err
	}
	txn.Commit()
	s.db.Store(db)
	s.aclIndex.Store((&Snapshot{txn: db.Txn(false)}).indexedACLIndex())
	s.abandonWatches()
	return nil
}

// ensureNodeAllocsKeys gives every node of a snapshot written before the
// snapshots kept them its key of the index table (nodeAllocsKey): the last
// change the servers made to its allocations, as far as they tell
// (AllocModifyIndex), or its registration.
func ensureNodeAllocsKeys(txn *memdb.Txn) error {
	for _, n := range list[*structs.Node](txn, TableNodes, "id") {
		key := nodeAllocsKey(n.ID)
		if first[*indexEntry](txn, tableIndex, "id", key) != nil {
			continue
		}
		index := n.CreateIndex
		for _, a := range list[*structs.Allocation](txn, TableAllocs, "node", n.ID) {
			index = max(index, a.AllocModifyIndex)
		}
		if err := txn.Insert(tableIndex, &indexEntry{Key: key, Value: index}); err != nil {
			return fmt.Errorf("state: restoring index %s: %w", key, err)
		}
	}
	return nil
}
