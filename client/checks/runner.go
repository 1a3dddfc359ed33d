package checks

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orch-io/orch/client/serviceregistration"
	"github.com/orch-io/orch/internal/clock"
	"github.com/orch-io/orch/structs"
)

// DefaultWorkers is how many checks probe at once on a node.
const DefaultWorkers = 8

// Config is what a Runner needs.
type Config struct {
	// Clock times the checks; nil is the real clock.
	Clock clock.Clock
	// Workers is how many probes run at once; 0 is DefaultWorkers.
	Workers int
	// OnChange, if set, is called after a check of the allocation changed
	// status (or appeared, or went), from a goroutine of the runner without
	// its locks held. It must not block: the deployment health tracker
	// reads Runner.AllocChecks from its own goroutine.
	OnChange func(allocID string)
	Logger   *slog.Logger
}

// Runner runs the checks of every allocation of a node (see the package
// doc). AllocUpdated, AllocRemoved and AllocChecks may be called from any
// goroutine; Run runs the scheduler and the workers until its context ends.
type Runner struct {
	cfg  Config
	http *http.Client
	wake chan struct{} // capacity 1: the heap's head may have changed
	work chan *entry   // due checks, to the workers

	mu struct {
		sync.Mutex
		byAlloc map[string]map[string]*entry // alloc ID → check ID → entry
		queue   entryHeap
	}
}

// entry is one active check. Its fields other than st, next and index are
// set when it is activated and never change; st, next, index and removed
// are the runner's, under its lock.
type entry struct {
	res    structs.CheckQueryResult // identity fields only (ID, Check, Group, Task, Service, Type, Mode, OnUpdate)
	target *target
	st     *state
	next   time.Time
	// index is the entry's position in the queue, -1 while a worker probes
	// it or once it is removed.
	index   int
	removed bool
}

// NewRunner returns a runner; no check runs before Run.
func NewRunner(cfg Config) *Runner {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{cfg: cfg, http: newHTTPClient(), wake: make(chan struct{}, 1), work: make(chan *entry)}
	r.mu.byAlloc = map[string]map[string]*entry{}
	return r
}

// AllocUpdated takes a new state of alloc (read only, not kept) on node:
// the checks of its active services (those the registrar registers) run,
// the others stop. A check whose definition or address changed starts over.
// exec runs the allocation's script checks and restarts its tasks.
func (r *Runner) AllocUpdated(alloc *structs.Allocation, node *structs.Node, exec TaskExecer) {
	want := map[string]*entry{}
	for _, as := range serviceregistration.ActiveServices(alloc, node) {
		for _, c := range as.Service.Checks {
			if c == nil {
				continue
			}
			e := newEntry(alloc, node, as, c, exec)
			want[e.res.ID] = e
		}
	}
	r.setAlloc(alloc.ID, want)
}

// AllocRemoved stops the checks of an allocation the client forgot.
func (r *Runner) AllocRemoved(allocID string) { r.setAlloc(allocID, nil) }

func newEntry(alloc *structs.Allocation, node *structs.Node, as serviceregistration.Active, c *structs.ServiceCheck, exec TaskExecer) *entry {
	port := cmpOr(c.PortLabel, as.Service.PortLabel)
	mode := cmpOr(c.AddressMode, as.Service.AddressMode)
	addr, p := serviceregistration.Address(alloc, node, port, mode)
	if as.Service.Address != "" && c.PortLabel == "" {
		addr = serviceregistration.Interpolate(as.Service.Address, alloc, node, as.Task)
	}
	task := cmpOr(c.TaskName, as.Task)
	c = serviceregistration.InterpolateCheck(c, alloc, node, as.Task)
	mode = structs.CheckModeHealthiness
	if c.OnUpdate == structs.OnUpdateIgnore {
		mode = structs.CheckModeReadiness
	}
	return &entry{
		res: structs.CheckQueryResult{
			ID:    alloc.ID + "/" + as.Owner + "/" + as.Name + "/" + c.Name,
			Check: c.Name, Group: alloc.TaskGroup, Task: task, Service: as.Name, Type: c.Type,
			Mode: mode, OnUpdate: c.OnUpdate,
		},
		target: &target{check: c, addr: net.JoinHostPort(addr, strconv.Itoa(p)), task: task, exec: exec},
		index:  -1,
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sameTarget reports whether two activations of a check probe the same way.
func sameTarget(a, b *target) bool {
	return a.addr == b.addr && a.task == b.task && reflect.DeepEqual(a.check, b.check)
}

func (r *Runner) setAlloc(allocID string, want map[string]*entry) {
	now := r.cfg.Clock.Now()
	changed := false
	r.mu.Lock()
	have := r.mu.byAlloc[allocID]
	for id, old := range have {
		if w, keep := want[id]; keep && sameTarget(old.target, w.target) {
			old.target.exec = w.target.exec
			want[id] = old
			continue
		}
		r.removeLocked(old)
		changed = true
	}
	for id, e := range want {
		if have[id] == e {
			continue
		}
		e.st = newState(e.target.check, now)
		e.next = now // the first probe at once
		heap.Push(&r.mu.queue, e)
		changed = true
	}
	if len(want) == 0 {
		delete(r.mu.byAlloc, allocID)
	} else {
		r.mu.byAlloc[allocID] = want
	}
	r.mu.Unlock()
	if changed {
		r.kick()
		if r.cfg.OnChange != nil {
			r.cfg.OnChange(allocID)
		}
	}
}

func (r *Runner) removeLocked(e *entry) {
	e.removed = true
	if e.index >= 0 {
		heap.Remove(&r.mu.queue, e.index)
	}
}

// AllocChecks returns the latest results of the allocation's checks, sorted
// by ID; nil when it has none running.
func (r *Runner) AllocChecks(allocID string) []*structs.CheckQueryResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*structs.CheckQueryResult, 0, len(r.mu.byAlloc[allocID]))
	for _, e := range r.mu.byAlloc[allocID] {
		res := e.res
		res.Status, res.StatusCode, res.Output = e.st.status, e.st.last.statusCode, e.st.last.output
		if !e.st.last.time.IsZero() {
			res.Timestamp = e.st.last.time.UnixNano()
		}
		if !e.st.healthySince.IsZero() {
			res.HealthySince = e.st.healthySince.UnixNano()
		}
		out = append(out, &res)
	}
	slices.SortFunc(out, func(a, b *structs.CheckQueryResult) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Len returns how many checks are active.
func (r *Runner) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.mu.byAlloc {
		n += len(m)
	}
	return n
}

func (r *Runner) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run runs the scheduler on the calling goroutine and the workers until ctx
// ends.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(ctx)
		}()
	}
	defer wg.Wait()
	var timer clock.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		r.mu.Lock()
		now := r.cfg.Clock.Now()
		var due []*entry
		for r.mu.queue.Len() > 0 && !r.mu.queue[0].next.After(now) {
			due = append(due, heap.Pop(&r.mu.queue).(*entry))
		}
		wait := time.Duration(-1)
		if r.mu.queue.Len() > 0 {
			wait = r.mu.queue[0].next.Sub(now)
		}
		r.mu.Unlock()
		for _, e := range due {
			select {
			case r.work <- e:
			case <-ctx.Done():
				return
			}
		}
		if timer != nil {
			timer.Stop()
			timer = nil
		}
		if wait >= 0 && len(due) == 0 {
			timer = r.cfg.Clock.AfterFunc(wait, r.kick)
		}
		if len(due) > 0 {
			continue // time passed while handing them out
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			return
		}
	}
}

// worker probes due checks and records their results.
func (r *Runner) worker(ctx context.Context) {
	for {
		var e *entry
		select {
		case e = <-r.work:
		case <-ctx.Done():
			return
		}
		res := probe(ctx, r.http, e.target, r.cfg.Clock.Now)
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		if e.removed {
			r.mu.Unlock()
			continue
		}
		prev := e.st.status
		restart := e.st.record(e.target.check, res)
		// Read under the lock: once e is back in the queue another worker
		// may probe and record it.
		changed := prev != e.st.status
		e.next = res.time.Add(e.target.check.Interval)
		heap.Push(&r.mu.queue, e)
		exec, task := e.target.exec, e.target.task
		r.mu.Unlock()
		r.kick()
		if restart && exec != nil {
			reason := fmt.Sprintf("check %q of service %q unhealthy", e.res.Check, e.res.Service)
			r.cfg.Logger.Info("restarting task: check unhealthy", "alloc_id", allocIDOf(e), "task", task, "check", e.res.Check)
			if err := exec.RestartTask(task, reason); err != nil {
				r.cfg.Logger.Warn("restarting task for a failing check", "task", task, "error", err)
			}
		}
		if changed && r.cfg.OnChange != nil {
			r.cfg.OnChange(allocIDOf(e))
		}
	}
}

func allocIDOf(e *entry) string {
	id, _, _ := strings.Cut(e.res.ID, "/")
	return id
}

// entryHeap orders entries by next run time; container/heap maintains it.
type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}
