package structs

// Events: what the event stream (/v1/event/stream) sends, one batch per
// Raft entry that changed jobs, allocations, evaluations, nodes or
// deployments, as Nomad's event stream. Every server makes them from its
// own FSM apply (server/events.go), so any server can serve the stream.

// EventTopic is the kind of object an event is about.
type EventTopic string

// The topics, with Nomad's names.
const (
	TopicJob        EventTopic = "Job"
	TopicAllocation EventTopic = "Allocation"
	TopicEvaluation EventTopic = "Evaluation"
	TopicNode       EventTopic = "Node"
	TopicDeployment EventTopic = "Deployment"
	// TopicAll is "*": every topic, in a subscription.
	TopicAll EventTopic = "*"
)

// Event is one object written by a Raft entry. Payload is the object after
// the write (before it, for a delete): *Job, *Allocation (without its job,
// as Nomad sends it), *Evaluation, *Node or *Deployment. Read only: it is
// shared by every subscriber.
type Event struct {
	Topic      EventTopic
	Type       string // Nomad's: JobRegistered, AllocationUpdated, ...
	Key        string // the object's ID
	Namespace  string // "" for nodes
	FilterKeys []string
	Index      uint64
	Payload    any
}

// EventBatch is the events of one Raft entry.
type EventBatch struct {
	Index  uint64
	Events []*Event
}
