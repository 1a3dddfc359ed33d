package serviceregistration

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orch-io/orch/structs"
)

// RPCFunc calls the servers, giving up when ctx ends.
type RPCFunc func(ctx context.Context, method string, args, reply any) error

// Config is what a Registrar needs.
type Config struct {
	RPC    RPCFunc
	Region string
	// Window is how long changes are gathered before they are sent in one
	// call (one Raft entry).
	Window time.Duration
	// RetryInterval is the wait after a failed call, doubling on every
	// further failure up to MaxRetryInterval.
	RetryInterval    time.Duration
	MaxRetryInterval time.Duration
	Logger           *slog.Logger
}

// Registrar registers the service instances of a client's allocations and
// removes them when they stop (see the package doc).
//
// AllocUpdated and AllocRemoved may be called from any goroutine and never
// block; Run is its one goroutine; Flush may be called once Run returned.
type Registrar struct {
	cfg  Config
	kick chan struct{} // capacity 1: something is pending

	mu struct {
		sync.Mutex
		// registered holds, by allocation, the instances the servers have
		// or are being sent (by ID).
		registered map[string]map[string]*structs.ServiceRegistration
		// upserts and deletes are the changes not sent yet, by instance ID;
		// an ID is in at most one of them.
		upserts map[string]*structs.ServiceRegistration
		deletes map[string]bool
	}
}

// NewRegistrar returns a registrar; nothing is sent until Run.
func NewRegistrar(cfg Config) *Registrar {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Registrar{cfg: cfg, kick: make(chan struct{}, 1)}
	r.mu.registered = map[string]map[string]*structs.ServiceRegistration{}
	r.mu.upserts = map[string]*structs.ServiceRegistration{}
	r.mu.deletes = map[string]bool{}
	return r
}

// AllocUpdated takes a new state of alloc (read only, not kept) on node and
// queues the registrations and removals it calls for.
func (r *Registrar) AllocUpdated(alloc *structs.Allocation, node *structs.Node) {
	want := map[string]*structs.ServiceRegistration{}
	for _, inst := range Instances(alloc, node) {
		want[inst.ID] = inst
	}
	r.setAlloc(alloc.ID, want)
}

// AllocRemoved forgets an allocation the client no longer runs, removing its
// instances.
func (r *Registrar) AllocRemoved(allocID string) { r.setAlloc(allocID, nil) }

func (r *Registrar) setAlloc(allocID string, want map[string]*structs.ServiceRegistration) {
	r.mu.Lock()
	have := r.mu.registered[allocID]
	changed := false
	for id := range have {
		if _, keep := want[id]; !keep {
			delete(r.mu.upserts, id)
			r.mu.deletes[id] = true
			changed = true
		}
	}
	for id, inst := range want {
		if old, ok := have[id]; ok && old.SameInstance(inst) {
			continue
		}
		delete(r.mu.deletes, id)
		r.mu.upserts[id] = inst
		changed = true
	}
	if len(want) == 0 {
		delete(r.mu.registered, allocID)
	} else {
		r.mu.registered[allocID] = want
	}
	r.mu.Unlock()
	if changed {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// Registered returns the instances the registrar has registered or is
// registering, sorted by ID.
func (r *Registrar) Registered() []*structs.ServiceRegistration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*structs.ServiceRegistration
	for _, m := range r.mu.registered {
		for _, inst := range m {
			out = append(out, inst.Copy())
		}
	}
	slices.SortFunc(out, func(a, b *structs.ServiceRegistration) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Run sends the pending changes until ctx ends, after ready is closed (the
// node is registered: the servers drop instances of unknown nodes).
func (r *Registrar) Run(ctx context.Context, ready <-chan struct{}) {
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed, failures := false, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			if !armed {
				timer.Reset(r.cfg.Window)
				armed = true
			}
			continue
		case <-timer.C:
			armed = false
		}
		if err := r.Flush(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait := min(r.cfg.MaxRetryInterval, r.cfg.RetryInterval<<min(failures-1, 16))
			r.cfg.Logger.Warn("sending service registrations", "retry_in", wait, "error", err)
			timer.Reset(wait)
			armed = true
			continue
		}
		failures = 0
	}
}

// Flush sends the pending changes in one call. What fails goes back to
// pending unless something newer about the same instance came meanwhile.
func (r *Registrar) Flush(ctx context.Context) error {
	r.mu.Lock()
	upserts, deletes := r.mu.upserts, r.mu.deletes
	r.mu.upserts, r.mu.deletes = map[string]*structs.ServiceRegistration{}, map[string]bool{}
	r.mu.Unlock()
	if len(upserts) == 0 && len(deletes) == 0 {
		return nil
	}
	req := &structs.ServiceRegistrationUpsertRequest{
		DeleteIDs:    slices.Sorted(maps.Keys(deletes)),
		WriteRequest: structs.WriteRequest{Region: r.cfg.Region},
	}
	for _, id := range slices.Sorted(maps.Keys(upserts)) {
		req.Services = append(req.Services, upserts[id])
	}
	err := r.cfg.RPC(ctx, "ServiceRegistration.Upsert", req, &structs.GenericResponse{})
	if err == nil {
		r.cfg.Logger.Debug("sent service registrations", "upserts", len(upserts), "deletes", len(deletes))
		return nil
	}
	r.mu.Lock()
	for id, inst := range upserts {
		if _, newer := r.mu.upserts[id]; !newer && !r.mu.deletes[id] {
			r.mu.upserts[id] = inst
		}
	}
	for id := range deletes {
		if _, newer := r.mu.upserts[id]; !newer {
			r.mu.deletes[id] = true
		}
	}
	r.mu.Unlock()
	return err
}
