package server

import (
	"sync"

	"github.com/hashicorp/raft"

	"github.com/orch-io/orch/structs"
)

// Entries the leader decodes ahead of its FSM. Raft applies entries one at
// a time, in one goroutine per server, and a plan's commit (and a client's
// report) waits for the leader's FSM to have applied it: in the 100k
// simulation that goroutine was busy 88% of the run, a quarter of it
// decoding entries the leader had just encoded. For the entry types marked
// ahead in entryTypes the leader starts decoding an entry's bytes in a goroutine of their own
// as it sends them to Raft; its FSM, handed the very same bytes by Raft,
// takes that decoding instead of making its own. The decoding is of the
// same bytes, so the FSM applies exactly what a follower decodes.

// maxPredecoded bounds the entries decoded ahead and not yet applied (a
// leader sends at most a few plans and report batches ahead of its FSM).
const maxPredecoded = 64

// predecoded is one entry being decoded ahead.
type predecoded struct {
	done chan struct{} // closed once body and err are set
	body any
	err  error
}

// predecoder holds the entries decoded ahead, by the address of their first
// byte: Raft hands the leader's FSM the slice the leader gave it.
type predecoder struct {
	mu      sync.Mutex
	entries map[*byte]*predecoded
	taken   uint64 // entries handed to the FSM, decoded or not
}

// start decodes buf (an encoded entry) in the background, if its type is
// one decoded ahead. It returns whether it did.
func (p *predecoder) start(buf []byte) bool {
	if len(buf) < 2 {
		return false
	}
	fresh := entryTypes[MessageType(buf[0])].ahead
	if fresh == nil {
		return false
	}
	e := &predecoded{done: make(chan struct{})}
	p.mu.Lock()
	if p.entries == nil {
		p.entries = map[*byte]*predecoded{}
	}
	if len(p.entries) >= maxPredecoded {
		p.mu.Unlock()
		return false
	}
	p.entries[&buf[0]] = e
	p.mu.Unlock()
	go func() {
		e.body = fresh()
		e.err = structs.Decode(buf[1:], e.body)
		close(e.done)
	}()
	return true
}

// drop forgets the decoding of buf, if the FSM has not taken it.
func (p *predecoder) drop(buf []byte) {
	p.mu.Lock()
	delete(p.entries, &buf[0])
	p.mu.Unlock()
}

// predecodedFuture is the future of an entry decoded ahead: a failed
// commit (the entry may never be applied here) drops the decoding.
type predecodedFuture struct {
	raft.ApplyFuture
	drop func()
}

func (f predecodedFuture) Error() error {
	err := f.ApplyFuture.Error()
	if err != nil {
		f.drop()
	}
	return err
}

// take removes and returns the decoding of the entry data, nil when none
// was started (or it failed: the FSM decodes, and says why).
func (p *predecoder) take(data []byte) any {
	if len(data) == 0 {
		return nil
	}
	p.mu.Lock()
	e := p.entries[&data[0]]
	delete(p.entries, &data[0])
	if e != nil {
		p.taken++
	}
	p.mu.Unlock()
	if e == nil {
		return nil
	}
	<-e.done
	if e.err != nil {
		return nil
	}
	return e.body
}

// clear drops every entry decoded ahead: when leadership ends, those not yet
// applied never will be by this leader's hand.
func (p *predecoder) clear() {
	p.mu.Lock()
	p.entries = nil
	p.mu.Unlock()
}

// entryBody returns the entry's body: the decoding the leader made ahead,
// or the body decoded now.
func entryBody[T any](a *entryApply, t MessageType, body []byte) (*T, error) {
	if e, ok := a.pre.(*T); ok {
		return e, nil
	}
	e := new(T)
	if err := decodeEntry(t, body, e); err != nil {
		return nil, err
	}
	return e, nil
}
