package agent

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/acl"
	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// GET /v1/event/stream, Nomad's event stream: newline-delimited JSON, one
// {"Index": N, "Events": [...]} per Raft entry that wrote jobs,
// allocations, evaluations, nodes or deployments, and a heartbeat {} every
// eventHeartbeat. ?topic=Topic:Key (repeatable; Key "*" or an object's ID,
// or an ID it is filed under: an allocation's job; "Topic" alone is
// "Topic:*"; none is every topic), ?index=N resumes at the entry N (or the
// oldest kept, when N is no longer), ?namespace= as every read ("*" for
// all; nodes have none). The agent's server serves it from its own event
// buffer (server/events.go): every server can. A client-only agent refuses
// it. A consumer that falls behind the buffer has its stream ended.

// eventHeartbeat is Nomad's interval of heartbeats.
const eventHeartbeat = 10 * time.Second

// eventTopics are the topics served.
var eventTopics = []structs.EventTopic{structs.TopicJob, structs.TopicAllocation, structs.TopicEvaluation,
	structs.TopicNode, structs.TopicDeployment}

// parseEventTopics reads ?topic=: topic to keys ("*" for all).
func parseEventTopics(values []string) (map[structs.EventTopic][]string, error) {
	out := map[structs.EventTopic][]string{}
	if len(values) == 0 {
		out[structs.TopicAll] = []string{"*"}
	}
	for _, v := range values {
		topic, key, ok := strings.Cut(v, ":")
		if !ok || key == "" {
			key = "*"
		}
		t := structs.EventTopic(topic)
		if t != structs.TopicAll && !slices.Contains(eventTopics, t) {
			return nil, badRequest("invalid topic %q: orch streams Job, Allocation, Evaluation, Node, Deployment or *", v)
		}
		out[t] = append(out[t], key)
	}
	return out, nil
}

// eventWanted reports whether ev is subscribed to, in namespace ns, and
// allowed to a (nil: ACLs off).
func eventWanted(ev *structs.Event, topics map[structs.EventTopic][]string, ns string, a *acl.ACL) bool {
	if ev.Topic == structs.TopicNode {
		if a != nil && !a.AllowNodeRead() {
			return false
		}
	} else {
		if ns != "*" && ev.Namespace != ns {
			return false
		}
		if a != nil && !a.AllowNamespaceOperation(ev.Namespace, acl.CapReadJob) {
			return false
		}
	}
	for _, t := range []structs.EventTopic{ev.Topic, structs.TopicAll} {
		for _, k := range topics[t] {
			if k == "*" || k == ev.Key || slices.Contains(ev.FilterKeys, k) {
				return true
			}
		}
	}
	return false
}

// wireEvent is an event as the stream sends it: the payload keyed by its
// topic, in the API's shape (and Deleted for a job deregistered).
type wireEvent struct {
	Topic      structs.EventTopic
	Type       string
	Key        string
	Namespace  string
	FilterKeys []string
	Index      uint64
	Payload    map[string]any
}

func toWireEvent(ev *structs.Event) *wireEvent {
	payload := map[string]any{}
	switch p := ev.Payload.(type) {
	case *structs.Job:
		payload["Job"] = api.JobFromStructs(p)
		if ev.Type == "JobDeregistered" {
			payload["Deleted"] = true
		}
	case *structs.Allocation:
		payload["Allocation"] = api.AllocFromStructs(p)
	case *structs.Evaluation:
		payload["Evaluation"] = api.EvalFromStructs(p)
	case *structs.Node:
		payload["Node"] = api.NodeFromStructs(p)
	case *structs.Deployment:
		payload["Deployment"] = api.DeploymentFromStructs(p)
	}
	keys := ev.FilterKeys
	if keys == nil {
		keys = []string{}
	}
	return &wireEvent{Topic: ev.Topic, Type: ev.Type, Key: ev.Key, Namespace: ev.Namespace, FilterKeys: keys, Index: ev.Index, Payload: payload}
}

func (s *HTTPServer) eventStream(w http.ResponseWriter, r *http.Request) {
	buf := s.backend.Events()
	if buf == nil {
		s.writeRawError(w, r, &httpError{code: http.StatusNotImplemented,
			msg: "the event stream is served by server agents: point the request at a server"})
		return
	}
	q := r.URL.Query()
	topics, err := parseEventTopics(q["topic"])
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	opts, err := parseQueryOptions(r)
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	ns := opts.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	var token *acl.ACL
	if s.acl != nil {
		if token, err = s.acl.resolve(r.Context(), s.backend, requestToken(r)); err != nil {
			s.writeRawError(w, r, err)
			return
		}
	}
	sub := buf.Subscribe(opts.MinQueryIndex)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	enc := json.NewEncoder(w)

	batches := make(chan []*structs.EventBatch)
	errs := make(chan error, 1)
	go func() {
		for {
			b, err := sub.Next(r.Context())
			if err != nil {
				errs <- err
				return
			}
			select {
			case batches <- b:
			case <-r.Context().Done():
				return
			}
		}
	}()
	heartbeat := time.NewTicker(eventHeartbeat)
	defer heartbeat.Stop()
	// tokenStillValid resolves the token again (from the cache, so at most
	// token_ttl old) before anything is sent: a deleted or expired token
	// ends the stream, and a changed policy applies, within token_ttl (Nomad
	// ends the subscription of a deleted token). Any other error (no
	// leader for a moment) keeps the last resolution.
	tokenStillValid := func() bool {
		if s.acl == nil {
			return true
		}
		a, err := s.acl.resolve(r.Context(), s.backend, requestToken(r))
		switch {
		case err == nil:
			token = a
		case errors.Is(err, structs.ErrPermissionDenied):
			s.logger.Info("event stream ended: its token is no longer valid", "remote", r.RemoteAddr, "error", err)
			return false
		}
		return true
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case err := <-errs:
			if errors.Is(err, server.ErrSubscriptionDropped) {
				s.logger.Warn("event stream consumer dropped: it fell behind the event buffer", "remote", r.RemoteAddr)
			}
			return
		case <-heartbeat.C:
			if !tokenStillValid() || enc.Encode(struct{}{}) != nil || rc.Flush() != nil {
				return
			}
		case bs := <-batches:
			if !tokenStillValid() {
				return
			}
			for _, b := range bs {
				var out []*wireEvent
				for _, ev := range b.Events {
					if eventWanted(ev, topics, ns, token) {
						out = append(out, toWireEvent(ev))
					}
				}
				if len(out) == 0 {
					continue
				}
				if err := enc.Encode(struct {
					Index  uint64
					Events []*wireEvent
				}{b.Index, out}); err != nil {
					return
				}
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}
