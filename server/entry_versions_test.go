package server

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// msgTestNote is an entry type that exists in tests only: introduced at
// MaxEntryVersion and ignorable, it stands for a future type that older
// servers may skip. Its entries record their note per FSM in testNotes.
const msgTestNote = MsgIgnoreUnknownFlag | 0x70

type testNoteEntry struct{ Note string }

var testNotes struct {
	sync.Mutex
	m map[*FSM][]string
}

func init() {
	testNotes.m = map[*FSM][]string{}
	entryTypes[msgTestNote.Number()] = entryType{version: MaxEntryVersion, apply: func(f *FSM, _ *entryApply, body []byte) error {
		var e testNoteEntry
		if err := decodeEntry(msgTestNote, body, &e); err != nil {
			return err
		}
		testNotes.Lock()
		defer testNotes.Unlock()
		testNotes.m[f] = append(testNotes.m[f], e.Note)
		return nil
	}}
}

func notesOf(f *FSM) []string {
	testNotes.Lock()
	defer testNotes.Unlock()
	return slices.Clone(testNotes.m[f])
}

// logBuffer collects a server's log lines (text format) for tests that check
// what it warned about.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lineWith reports whether one line contains every one of subs.
func (b *logBuffer) lineWith(subs ...string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for line := range strings.SplitSeq(b.buf.String(), "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all {
			return true
		}
	}
	return false
}

func TestEntryVersions_EveryMessageTypeIsListed(t *testing.T) {
	maxSeen := EntryVersion(0)
	for n := 1; n < int(MsgIgnoreUnknownFlag); n++ {
		typ := MessageType(n)
		et, ok := entryTypes[typ]
		declared := !strings.HasPrefix(typ.String(), "MessageType(")
		if declared && !ok {
			t.Errorf("message type %s (%d) is not in entryTypes", typ, n)
		}
		if !ok {
			continue
		}
		if et.version < BaseEntryVersion || et.version > MaxEntryVersion {
			t.Errorf("message type %s: version %d outside %d..%d", typ, et.version, BaseEntryVersion, MaxEntryVersion)
		}
		if et.apply == nil {
			t.Errorf("message type %s: no apply function", typ)
		}
		if typ != msgTestNote.Number() {
			maxSeen = max(maxSeen, et.version)
		}
	}
	for typ := range entryTypes {
		if typ != typ.Number() {
			t.Errorf("entryTypes key %d carries the ignore flag: key types by number", uint8(typ))
		}
	}
	if maxSeen != MaxEntryVersion {
		t.Errorf("MaxEntryVersion = %d but the newest type is of version %d", MaxEntryVersion, maxSeen)
	}
	if v, ok := EntryVersionOf(MsgSchedulerConfig); !ok || v != 2 {
		t.Errorf("EntryVersionOf(SchedulerConfig) = %d, %v; want 2 (it was added after the first release)", v, ok)
	}
	if v, ok := EntryVersionOf(MsgJobRegister | MsgIgnoreUnknownFlag); !ok || v != BaseEntryVersion {
		t.Errorf("EntryVersionOf(JobRegister|ignore) = %d, %v; want %d", v, ok, BaseEntryVersion)
	}
}

func TestEntryVersions_ErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		lagging []LaggingServer
		want    string
	}{
		{
			[]LaggingServer{{ID: "id2", Name: "s2", Address: "10.0.0.2:4647", Advertised: 1, Tag: "1"}},
			"cannot write SchedulerConfig entries until every server reads entry version 2: server s2 (10.0.0.2:4647) advertises 1; upgrade it first",
		},
		{
			[]LaggingServer{
				{ID: "id2", Address: "10.0.0.2:4647"},
				{ID: "id3", Name: "s3", Address: "10.0.0.3:4647", Tag: "x"},
			},
			`cannot write SchedulerConfig entries until every server reads entry version 2: server id2 (10.0.0.2:4647) has not been seen in gossip, server s3 (10.0.0.3:4647) advertises an unreadable entry version "x"; upgrade them first`,
		},
	} {
		err := &EntryVersionError{Type: MsgSchedulerConfig, Version: 2, Lagging: tc.lagging}
		if got := err.Error(); got != tc.want {
			t.Errorf("Error() =\n%s\nwant\n%s", got, tc.want)
		}
	}
}

func TestFSM_OldServerTreatsNewerTypesAsUnknown(t *testing.T) {
	f := testFSM(t)
	f.maxVersion = BaseEntryVersion

	// A type introduced later, without the ignore flag: an error, nothing written.
	resp := applyEntry(t, f, 1, MsgSchedulerConfig, &SchedulerConfigEntry{Config: &structs.SchedulerConfiguration{SchedulerAlgorithm: structs.SchedulerAlgorithmSpread}})
	if err, ok := resp.(error); !ok || !errors.Is(err, ErrUnknownMessageType) {
		t.Fatalf("old FSM Apply(SchedulerConfig) = %v, want ErrUnknownMessageType", resp)
	}
	if got := f.state.SchedulerConfig().ModifyIndex; got != 0 {
		t.Errorf("old FSM stored a scheduler configuration at %d", got)
	}
	// A type introduced later, with the flag: skipped.
	if resp := applyEntry(t, f, 2, msgTestNote, &testNoteEntry{Note: "n"}); resp != nil {
		t.Errorf("old FSM Apply(test note) = %v, want nil (skipped)", resp)
	}
	if notes := notesOf(f); len(notes) != 0 {
		t.Errorf("old FSM applied a note it does not know: %v", notes)
	}
	// Base types are applied.
	job := testJob("web", 1, 64)
	if resp := applyEntry(t, f, 3, MsgJobRegister, &JobRegisterEntry{Job: job, Eval: newJobEval(job, structs.EvalTriggerJobRegister, 1)}); resp != nil {
		t.Fatalf("old FSM Apply(JobRegister) = %v", resp)
	}

	// The same entries on a current FSM are applied.
	cur := testFSM(t)
	if resp := applyEntry(t, cur, 1, MsgSchedulerConfig, &SchedulerConfigEntry{Config: &structs.SchedulerConfiguration{SchedulerAlgorithm: structs.SchedulerAlgorithmSpread}}); resp != nil {
		t.Fatalf("current FSM Apply(SchedulerConfig) = %v", resp)
	}
	if resp := applyEntry(t, cur, 2, msgTestNote, &testNoteEntry{Note: "n"}); resp != nil {
		t.Fatalf("current FSM Apply(test note) = %v", resp)
	}
	if notes := notesOf(cur); !reflect.DeepEqual(notes, []string{"n"}) {
		t.Errorf("current FSM notes = %v, want [n]", notes)
	}
}

func TestConfig_MaxEntryVersionForTestValidated(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxEntryVersionForTest = MaxEntryVersion + 1
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("MaxEntryVersionForTest = %d", MaxEntryVersion+1)) {
		t.Fatalf("Validate = %v, want an error naming MaxEntryVersionForTest", err)
	}
}

// TestEntryVersions_GateJudgesServersByTheirGossipTags checks the gate on a
// single real server whose Raft configuration gets a second (non-voting)
// server, described to gossip by hand: unknown, no tag, old, unreadable, new.
func TestEntryVersions_GateJudgesServersByTheirGossipTags(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	if err := s.checkEntryVersion(MsgSchedulerConfig); err != nil {
		t.Fatalf("single current server: %v", err)
	}
	// Advertised in gossip, and so in /v1/agent/members.
	members := s.Members().Members
	if len(members) != 1 || members[0].Tags[TagEntryVersion] != fmt.Sprint(MaxEntryVersion) {
		t.Errorf("members = %+v, want this server with %s = %d", members, TagEntryVersion, MaxEntryVersion)
	}

	// 127.0.0.1:1 refuses connections: the leader cannot replicate to the
	// non-voter, which does not matter for a configuration check.
	const id, addr = "other-id", "127.0.0.1:1"
	if err := s.raft.AddNonvoter(id, addr, 0, 5*time.Second).Error(); err != nil {
		t.Fatalf("AddNonvoter: %v", err)
	}
	version := func(tags map[string]string) error {
		if tags != nil {
			tags[TagServerID], tags[TagRole], tags[TagRegion] = id, "server", s.config.Region
			// Failed, so that the leader's reconcile loop leaves it alone;
			// the gate judges failed servers by their last tags too.
			s.members.Lock()
			s.members.m["other"] = &serverMember{Name: "other", Addr: "127.0.0.1", Port: 1, Tags: tags, State: memberlist.StateDead}
			s.members.Unlock()
		}
		return s.checkEntryVersion(MsgSchedulerConfig)
	}
	for _, tc := range []struct {
		name string
		tags map[string]string
		want string // "" for no error
	}{
		{"never seen in gossip", nil, "server other-id (127.0.0.1:1) has not been seen in gossip; upgrade it first"},
		{"no tag: predates versioning", map[string]string{}, "server other (127.0.0.1:1) advertises 1; upgrade it first"},
		{"old", map[string]string{TagEntryVersion: "1"}, "server other (127.0.0.1:1) advertises 1; upgrade it first"},
		{"unreadable", map[string]string{TagEntryVersion: "two"}, `server other (127.0.0.1:1) advertises an unreadable entry version "two"; upgrade it first`},
		{"current", map[string]string{TagEntryVersion: fmt.Sprint(MaxEntryVersion)}, ""},
		{"newer", map[string]string{TagEntryVersion: fmt.Sprint(MaxEntryVersion + 1)}, ""},
	} {
		err := version(tc.tags)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want no error", tc.name, err)
		case tc.want != "":
			var ev *EntryVersionError
			if !errors.As(err, &ev) || !strings.HasSuffix(err.Error(), tc.want) {
				t.Errorf("%s: err = %v, want an EntryVersionError ending in %q", tc.name, err, tc.want)
			}
		}
	}

	// Behind an old server: base types, ignorable types pass; the refused
	// write reaches neither Raft nor the state.
	version(map[string]string{TagEntryVersion: "1"})
	for _, typ := range []MessageType{MsgJobRegister, MsgNodeUpdateStatus, msgTestNote, MsgIgnoreUnknownFlag | 0x7e} {
		if err := s.checkEntryVersion(typ); err != nil {
			t.Errorf("checkEntryVersion(%s) behind an old server: %v", typ, err)
		}
	}
	before := s.raft.LastIndex()
	var resp structs.SchedulerSetConfigurationResponse
	err := s.RPC(t.Context(), "Operator.SchedulerSetConfiguration", &structs.SchedulerSetConfigRequest{
		Config: structs.SchedulerConfiguration{SchedulerAlgorithm: structs.SchedulerAlgorithmSpread}}, &resp)
	if err == nil || !strings.Contains(err.Error(), "cannot write SchedulerConfig entries until every server reads entry version 2") {
		t.Fatalf("SchedulerSetConfiguration behind an old server: err = %v", err)
	}
	if after := s.raft.LastIndex(); after != before {
		t.Errorf("a refused write moved the raft log from %d to %d", before, after)
	}
	// A type this build does not know, without the flag, is never written.
	if _, err := s.raftApply(MessageType(0x7e), &testNoteEntry{}); !errors.Is(err, ErrUnknownMessageType) {
		t.Errorf("raftApply(unknown type) = %v, want ErrUnknownMessageType", err)
	}
}

// TestEntryVersions_RollingUpgrade runs a two-server cluster whose second
// server simulates a build that reads entry version 1 only, then upgrades it:
// (a) a SchedulerConfig write (version 2) is refused, naming the old server;
// (b) an ignorable version-2 entry is written anyway, the old server skips it
// with a warning and keeps applying what follows; (c) restarted as a current
// build on the same data directory, the server is back in the configuration
// and the write succeeds and reaches it.
func TestEntryVersions_RollingUpgrade(t *testing.T) {
	newCfg := testConfig(t.TempDir())
	oldCfg := testConfig(t.TempDir())
	oldCfg.MaxEntryVersionForTest = BaseEntryVersion
	oldLog := &logBuffer{}
	oldCfg.Logger = slog.New(slog.NewTextHandler(oldLog, nil))
	servers := startClusterOf(t, newCfg, oldCfg)
	cur, old := servers[0], servers[1]
	v, _ := EntryVersionOf(MsgSchedulerConfig)

	// (a) Refused, whichever server leads and whichever the request reaches.
	want := fmt.Sprintf("cannot write SchedulerConfig entries until every server reads entry version %d: server %s (%s) advertises %d; upgrade it first",
		v, old.config.NodeName, old.RPCAddr(), BaseEntryVersion)
	for _, s := range servers {
		var resp structs.SchedulerSetConfigurationResponse
		err := s.RPC(t.Context(), "Operator.SchedulerSetConfiguration", &structs.SchedulerSetConfigRequest{
			Config: structs.SchedulerConfiguration{SchedulerAlgorithm: structs.SchedulerAlgorithmSpread}}, &resp)
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Fatalf("SchedulerSetConfiguration through %s: err = %v\nwant one ending in %q", s.config.NodeName, err, want)
		}
	}

	// (b) An ignorable entry of version 2, then a base one.
	leader := leaderOf(servers)
	noteIndex, err := leader.raftApply(msgTestNote, &testNoteEntry{Note: "hello"})
	if err != nil {
		t.Fatalf("writing an ignorable version-%d entry next to an old server: %v", MaxEntryVersion, err)
	}
	reg := registerJob(t, cur, testJob("web", 1, 64))
	waitFor(t, 10*time.Second, "both servers apply the job registration", func() bool {
		// The state store, not raft.AppliedIndex: Raft counts an entry applied
		// when it hands it to the FSM, before the FSM has applied it.
		return cur.state.LatestIndex() >= reg.Index && old.state.LatestIndex() >= reg.Index
	})
	if notes := notesOf(cur.fsm); !reflect.DeepEqual(notes, []string{"hello"}) {
		t.Errorf("current server applied notes %v, want [hello]", notes)
	}
	if notes := notesOf(old.fsm); len(notes) != 0 {
		t.Errorf("old server applied notes %v, want none", notes)
	}
	if !oldLog.lineWith("level=WARN", "skipping raft entry of unknown type", fmt.Sprintf("index=%d", noteIndex)) {
		t.Errorf("old server did not warn about skipping entry %d; its log:\n%s", noteIndex, oldLog.String())
	}
	if oldLog.lineWith("level=ERROR", "applying raft entry failed") {
		t.Errorf("old server failed to apply an entry; its log:\n%s", oldLog.String())
	}
	oldJob, curJob := old.state.JobByID("default", "web"), cur.state.JobByID("default", "web")
	if oldJob == nil || curJob == nil || oldJob.CreateIndex != reg.JobModifyIndex || oldJob.JobModifyIndex != curJob.JobModifyIndex {
		t.Errorf("job on the old server = %+v\nwant the current server's %+v", oldJob, curJob)
	}
	if o, c := old.state.SchedulerConfig(), cur.state.SchedulerConfig(); o.ModifyIndex != 0 || c.ModifyIndex != 0 {
		t.Errorf("scheduler configuration written at %d (old) / %d (current) after a refused write", o.ModifyIndex, c.ModifyIndex)
	}

	// (c) Upgrade: the old server restarts as a current build, same data.
	if err := old.Shutdown(); err != nil {
		t.Fatalf("Shutdown of the old server: %v", err)
	}
	upCfg := oldCfg
	upCfg.MaxEntryVersionForTest = 0
	upCfg.Logger = testLogger()
	up, err := NewServer(upCfg)
	if err != nil {
		t.Fatalf("restarting the old server upgraded: %v", err)
	}
	t.Cleanup(func() { up.Shutdown() })
	if up.raftID != old.raftID {
		t.Fatalf("upgraded server has raft ID %s, want %s (same data dir)", up.raftID, old.raftID)
	}
	if _, err := up.Join([]string{cur.GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the upgraded server back in the raft configuration, advertising the current version", func() bool {
		if !cur.IsLeader() || up.Leader() != cur.RPCAddr() {
			return false
		}
		f := cur.raft.GetConfiguration()
		if f.Error() != nil {
			return false
		}
		in := false
		for _, srv := range f.Configuration().Servers {
			in = in || srv.ID == up.raftID && srv.Address == raft.ServerAddress(up.RPCAddr())
		}
		m, ok := cur.memberByServerID(string(up.raftID))
		return in && ok && m.Tags[TagEntryVersion] == fmt.Sprint(MaxEntryVersion)
	})
	set := setSchedulerConfig(t, up, &structs.SchedulerSetConfigRequest{
		Config: structs.SchedulerConfiguration{SchedulerAlgorithm: structs.SchedulerAlgorithmSpread}})
	if !set.Updated {
		t.Fatalf("SchedulerSetConfiguration after the upgrade: %+v, want updated", set)
	}
	waitFor(t, 10*time.Second, "the upgraded server applies the scheduler configuration", func() bool {
		return up.state.SchedulerConfig().ModifyIndex >= set.Index
	})
	if c := up.state.SchedulerConfig(); c.ModifyIndex != set.Index || c.SchedulerAlgorithm != structs.SchedulerAlgorithmSpread {
		t.Errorf("scheduler configuration on the upgraded server = %+v, want spread at %d", c, set.Index)
	}
	if up.state.JobByID("default", "web") == nil {
		t.Errorf("the upgraded server lost the job it had before")
	}
}
