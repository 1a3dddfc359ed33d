package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
)

// Raft entry versions: how servers of different builds share one log during
// a rolling upgrade.
//
// Every entry type (MessageType, log_entries.go) is introduced at an
// EntryVersion, a small integer that grows by one whenever a release adds
// entry types. A server reads every type up to its MaxEntryVersion and
// advertises that number in its gossip tags (TagEntryVersion). The leader
// writes an entry of a type introduced at version V > BaseEntryVersion only
// once every server of the Raft configuration advertises V or more
// (checkEntryVersion, called by raftApply); otherwise the write fails with an
// *EntryVersionError naming the servers to upgrade. So an upgrade goes one
// server at a time, and a new entry type appears in the log only when every
// server can apply it.
//
// The exception is a type declared with MsgIgnoreUnknownFlag: a server that
// does not know it skips it with a warning (FSM.Apply), so the leader writes
// it at any time. Such types may carry only information an older server can
// do without: the state of the types it knows must stay correct without them.
//
// Rules for a new entry type: take the next free number (never reuse one),
// add it to entryTypes at MaxEntryVersion+1 and raise MaxEntryVersion, in the
// same release. Types of BaseEntryVersion are read by every orch server ever
// released, including those that predate versioning and advertise no
// version; they are never gated.

// EntryVersion is a version of the Raft log format: a server that reads
// version V applies every entry type introduced at V or before.
type EntryVersion uint8

const (
	// BaseEntryVersion is read by every orch server; a server whose gossip
	// tags carry no entry version reads exactly this.
	BaseEntryVersion EntryVersion = 1
	// MaxEntryVersion is the highest entry version this build reads.
	MaxEntryVersion EntryVersion = 6
)

// TagEntryVersion is the gossip tag in which a server advertises the highest
// EntryVersion it reads (decimal).
const TagEntryVersion = "ev"

// entryType is what a server knows of one log entry type.
type entryType struct {
	// version is the EntryVersion that introduced the type.
	version EntryVersion
	// apply applies an entry of the type (its body without the type byte)
	// in the entry's transaction; see FSM.Apply.
	apply func(f *FSM, a *entryApply, body []byte) error
	// ahead, when set, returns a fresh body of the type: the leader decodes
	// such entries ahead of its FSM (fsm_predecode.go).
	ahead func() any
}

// entryTypes lists every entry type this build reads, by number (the type
// without MsgIgnoreUnknownFlag). Tests check that every MessageType constant
// is here. Never change the version of a type that has been released.
var entryTypes = map[MessageType]entryType{
	MsgJobRegister:          {version: 1, apply: (*FSM).applyJobRegister},
	MsgJobDeregister:        {version: 1, apply: (*FSM).applyJobDeregister},
	MsgEvalUpdate:           {version: 1, apply: (*FSM).applyEvalUpdate},
	MsgNodeRegister:         {version: 1, apply: (*FSM).applyNodeRegister},
	MsgNodeUpdateStatus:     {version: 1, apply: (*FSM).applyNodeUpdateStatus},
	MsgApplyPlanResults:     {version: 1, apply: (*FSM).applyPlanResults, ahead: func() any { return new(ApplyPlanResultsEntry) }},
	MsgAllocClientUpdate:    {version: 1, apply: (*FSM).applyAllocClientUpdate, ahead: func() any { return new(AllocClientUpdateEntry) }},
	MsgSchedulerConfig:      {version: 2, apply: (*FSM).applySchedulerConfig},
	MsgACLPolicyUpsert:      {version: 4, apply: (*FSM).applyACLPolicyUpsert},
	MsgACLPolicyDelete:      {version: 4, apply: (*FSM).applyACLPolicyDelete},
	MsgACLTokenUpsert:       {version: 4, apply: (*FSM).applyACLTokenUpsert},
	MsgACLTokenDelete:       {version: 4, apply: (*FSM).applyACLTokenDelete},
	MsgACLBootstrap:         {version: 4, apply: (*FSM).applyACLBootstrap},
	MsgServiceRegistrations: {version: 4, apply: (*FSM).applyServiceRegistrations},

	MsgAllocDesiredTransition: {version: 4, apply: (*FSM).applyAllocDesiredTransition},
	MsgNodeEligibility:        {version: 4, apply: (*FSM).applyNodeEligibility},
	MsgNodeDrain:              {version: 4, apply: (*FSM).applyNodeDrain},
	MsgJobStability:           {version: 4, apply: (*FSM).applyJobStability},
	MsgDeploymentUpdate:       {version: 4, apply: (*FSM).applyDeploymentUpdate},
	MsgNamespaceUpsert:        {version: 5, apply: (*FSM).applyNamespaceUpsert},
	MsgNamespaceDelete:        {version: 5, apply: (*FSM).applyNamespaceDelete},

	MsgACLRoleUpsert: {version: 5, apply: (*FSM).applyACLRoleUpsert},
	MsgACLRoleDelete: {version: 5, apply: (*FSM).applyACLRoleDelete},

	MsgCoreGC:    {version: 5, apply: (*FSM).applyCoreGC},
	MsgJobLaunch: {version: 5, apply: (*FSM).applyJobLaunch},

	MsgAutopilotConfig: {version: 5, apply: (*FSM).applyAutopilotConfig},

	MsgNodesDown: {version: 6, apply: (*FSM).applyNodesDown},
}

func init() {
	// Set here, not in the literal: applyWrite applies the entry it wraps
	// through entryTypes, which the literal cannot refer to.
	entryTypes[MsgWrite] = entryType{version: 3, apply: (*FSM).applyWrite}
}

// Number returns the type's number: the type without MsgIgnoreUnknownFlag.
func (t MessageType) Number() MessageType { return t &^ MsgIgnoreUnknownFlag }

// Ignorable reports whether a server that does not know t may skip it.
func (t MessageType) Ignorable() bool { return t&MsgIgnoreUnknownFlag != 0 }

// EntryVersionOf returns the entry version that introduced t, and false when
// this build does not know t.
func EntryVersionOf(t MessageType) (EntryVersion, bool) {
	et, ok := entryTypes[t.Number()]
	return et.version, ok
}

// maxEntryVersion is the highest entry version this server reads and
// advertises: MaxEntryVersion, or Config.MaxEntryVersionForTest when set.
func (s *Server) maxEntryVersion() EntryVersion {
	if v := s.config.MaxEntryVersionForTest; v != 0 {
		return v
	}
	return MaxEntryVersion
}

// EntryVersionError is the error of a write refused because some server of
// the Raft configuration may not read its entry type.
type EntryVersionError struct {
	Type    MessageType
	Version EntryVersion // the version that introduced Type
	Lagging []LaggingServer
}

// LaggingServer is a server of the Raft configuration that does not
// advertise the entry version a write needs.
type LaggingServer struct {
	ID      string // Raft server ID
	Name    string // gossip node name; "" when gossip has not seen the server
	Address string // Raft (RPC) address
	// Advertised is the entry version the server advertises; 0 when unknown
	// (not seen in gossip, or an unreadable tag, kept in Tag).
	Advertised EntryVersion
	Tag        string
}

func (e *EntryVersionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cannot write %s entries until every server reads entry version %d: ", e.Type.Number(), e.Version)
	for i, l := range e.Lagging {
		if i > 0 {
			b.WriteString(", ")
		}
		switch {
		case l.Name == "":
			fmt.Fprintf(&b, "server %s (%s) has not been seen in gossip", l.ID, l.Address)
		case l.Advertised == 0:
			fmt.Fprintf(&b, "server %s (%s) advertises an unreadable entry version %q", l.Name, l.Address, l.Tag)
		default:
			fmt.Fprintf(&b, "server %s (%s) advertises %d", l.Name, l.Address, l.Advertised)
		}
	}
	if len(e.Lagging) == 1 {
		b.WriteString("; upgrade it first")
	} else {
		b.WriteString("; upgrade them first")
	}
	return b.String()
}

// checkEntryVersion returns an *EntryVersionError when an entry of type t
// must not be written yet: t was introduced after BaseEntryVersion, does not
// carry MsgIgnoreUnknownFlag, and some server of the Raft configuration does
// not advertise its version in gossip. A server is judged by the last tags
// gossip saw from it, even if it has failed or left since (it reads what it
// read then when it comes back, unless it was downgraded meanwhile); a
// server gossip has never seen counts as unable to read t. This server
// counts with its own maxEntryVersion. Types this build does not know are
// refused. Called by raftApply on the leader, from any goroutine.
func (s *Server) checkEntryVersion(t MessageType) error {
	v, known := EntryVersionOf(t)
	if !known {
		if t.Ignorable() {
			return nil
		}
		return fmt.Errorf("%w: type %d: this server does not know it and will not write it", ErrUnknownMessageType, uint8(t))
	}
	if v <= BaseEntryVersion || t.Ignorable() {
		return nil
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("server: reading the raft configuration to check entry versions: %w", err)
	}
	var lagging []LaggingServer
	for _, srv := range f.Configuration().Servers {
		l, ok := s.serverReads(srv, v)
		if !ok {
			lagging = append(lagging, l)
		}
	}
	if len(lagging) > 0 {
		return &EntryVersionError{Type: t, Version: v, Lagging: lagging}
	}
	return nil
}

// serverReads reports whether the server srv of the Raft configuration
// advertises entry version v or more; when not, it describes the server.
func (s *Server) serverReads(srv raft.Server, v EntryVersion) (LaggingServer, bool) {
	l := LaggingServer{ID: string(srv.ID), Address: string(srv.Address)}
	if srv.ID == s.raftID {
		l.Name, l.Advertised = s.config.NodeName, s.maxEntryVersion()
		return l, l.Advertised >= v
	}
	m, ok := s.memberByServerID(string(srv.ID))
	if !ok {
		return l, false
	}
	l.Name = m.Name
	l.Advertised, l.Tag = advertisedEntryVersion(m.Tags)
	return l, l.Advertised >= v
}

// memberByServerID returns the server gossip knows with this Raft ID,
// preferring an alive one (a server restarted under another node name
// leaves its old one behind, failed or left).
func (s *Server) memberByServerID(id string) (serverMember, bool) {
	s.members.Lock()
	defer s.members.Unlock()
	var found *serverMember
	for _, m := range s.members.m {
		if m.Tags[TagServerID] != id {
			continue
		}
		if found == nil || m.State == memberlist.StateAlive && found.State != memberlist.StateAlive {
			found = m
		}
	}
	if found == nil {
		return serverMember{}, false
	}
	return *found, true
}

// advertisedEntryVersion reads TagEntryVersion from a server's gossip tags:
// BaseEntryVersion when absent (a server that predates entry versions), 0
// when unreadable (then tag is its value).
func advertisedEntryVersion(tags map[string]string) (v EntryVersion, tag string) {
	tag, ok := tags[TagEntryVersion]
	if !ok {
		return BaseEntryVersion, ""
	}
	n, err := strconv.ParseUint(tag, 10, 8)
	if err != nil || n == 0 {
		return 0, tag
	}
	return EntryVersion(n), tag
}
