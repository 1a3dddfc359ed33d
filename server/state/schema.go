package state

import "github.com/hashicorp/go-memdb"

// Table names, also the keys of the per-table Raft index.
const (
	TableJobs   = "jobs"
	TableNodes  = "nodes"
	TableAllocs = "allocs"
	TableEvals  = "evals"
	tableIndex  = "index"
)

// indexEntry records the Raft index of the last write to a table.
type indexEntry struct {
	Key   string
	Value uint64
}

func schema() *memdb.DBSchema {
	id := func(field string) *memdb.IndexSchema {
		return &memdb.IndexSchema{Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: field}}
	}
	by := func(name, field string) *memdb.IndexSchema {
		return &memdb.IndexSchema{Name: name, Indexer: &memdb.StringFieldIndex{Field: field}, AllowMissing: true}
	}
	db := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		// Jobs are keyed by namespace and ID: the same ID in two namespaces
		// is two jobs.
		TableJobs: {Name: TableJobs, Indexes: map[string]*memdb.IndexSchema{"id": {Name: "id", Unique: true,
			Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Namespace"}, &memdb.StringFieldIndex{Field: "ID"},
			}}}}},
		// secret: the ACL rules recognise a client by its node's secret.
		TableNodes: {Name: TableNodes, Indexes: map[string]*memdb.IndexSchema{"id": id("ID"), "secret": by("secret", "SecretID")}},
		TableAllocs: {Name: TableAllocs, Indexes: map[string]*memdb.IndexSchema{
			// No index by evaluation: see Snapshot.AllocsByEval.
			"id": id("ID"), "job": nsJobIndex("job", "JobID"), "node": by("node", "NodeID"),
			"deployment": by("deployment", "DeploymentID"),
		}},
		TableEvals: {Name: TableEvals, Indexes: map[string]*memdb.IndexSchema{
			"id": id("ID"), "job": nsJobIndex("job", "JobID"),
		}},
		tableIndex: {Name: tableIndex, Indexes: map[string]*memdb.IndexSchema{"id": id("Key")}},
	}}
	db.Tables[TableSchedulerConfig] = schedulerConfigTable()
	db.Tables[TableRequests] = requestsTable()
	aclTables(db)
	db.Tables[TableServiceRegistrations] = serviceRegistrationsTable()
	db.Tables[TableJobVersions] = jobVersionsTable()
	db.Tables[TableDeployments] = deploymentsTable()
	db.Tables[TableNamespaces] = namespacesTable()
	db.Tables[TablePeriodicLaunches] = periodicLaunchesTable()
	db.Tables[TableAutopilotConfig] = autopilotConfigTable()
	db.Tables[TableNodeUsage] = nodeUsageTable()
	return db
}
