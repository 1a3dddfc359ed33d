package structs

// SystemWriteRequest is a cluster-wide write that takes no arguments: a
// forced garbage collection (System.GarbageCollect), Nomad's summary
// reconciliation (System.ReconcileJobSummaries).
type SystemWriteRequest struct {
	WriteRequest
}
