package agenttest

// The one file that knows the signature of the HTTP API's backend RPC
// (command/agent.Backend): adapt it here when that signature changes.

import (
	"context"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/logmon"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// Faults is an agent.Backend that passes every call to the real agent's
// backend, except the RPC methods a test told it to fail or hang. It also
// records the QueryOptions each read method was last called with, so a test
// can check what the HTTP layer made of the query parameters.
type Faults struct {
	inner agent.Backend

	mu struct {
		sync.Mutex
		fail    map[string]error
		hang    map[string]chan struct{}
		queries map[string]structs.QueryOptions
	}
}

var _ agent.Backend = (*Faults)(nil)

// Faults returns a new wrapper of the agent's backend that lets every call
// through; serve it with agent.NewHTTPServer, or use ServeFaults.
func (a *Agent) Faults() *Faults {
	f := &Faults{inner: a.Agent.Backend()}
	f.mu.fail = map[string]error{}
	f.mu.hang = map[string]chan struct{}{}
	f.mu.queries = map[string]structs.QueryOptions{}
	return f
}

// ServeFaults serves the agent's HTTP API on a second listener of its own
// (127.0.0.1, free port), over a.Faults(); it returns the wrapper, an API
// client of that listener (which does not retry 503s) and the listener's URL.
// They stop when the test ends; hung calls are released then.
func (a *Agent) ServeFaults(t testing.TB) (*Faults, *api.Client, string) {
	t.Helper()
	f := a.Faults()
	s, err := agent.NewHTTPServer("127.0.0.1:0", f, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.releaseAll()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	url := "http://" + s.Addr()
	c, err := api.NewClient(&api.Config{Address: url, NoLeaderRetry: -1})
	if err != nil {
		t.Fatal(err)
	}
	return f, c, url
}

// Fail makes every later call of method fail with err (build it with
// structs.NewError to give it a code) without reaching the server; a nil err
// lets calls through again.
func (f *Faults) Fail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.mu.fail, method)
		return
	}
	f.mu.fail[method] = err
}

// Hang makes later calls of method wait, without reaching the server, until
// the returned release is called (or the test ends); they then go through.
func (f *Faults) Hang(method string) (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	f.mu.hang[method] = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			if f.mu.hang[method] == ch {
				delete(f.mu.hang, method)
			}
			f.mu.Unlock()
			close(ch)
		})
	}
}

func (f *Faults) releaseAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for m, ch := range f.mu.hang {
		close(ch)
		delete(f.mu.hang, m)
	}
}

// LastQuery returns the QueryOptions of the last read of method.
func (f *Faults) LastQuery(method string) (structs.QueryOptions, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, ok := f.mu.queries[method]
	return q, ok
}

// RPC implements agent.Backend.
// A hung call returns when it is released or when ctx ends (the HTTP caller
// hung up), as a real blocked call does.
func (f *Faults) RPC(ctx context.Context, method string, args, reply any) error {
	f.mu.Lock()
	if q, ok := queryOptionsOf(args); ok {
		f.mu.queries[method] = q
	}
	failure, hang := f.mu.fail[method], f.mu.hang[method]
	f.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if failure != nil {
		return failure
	}
	return f.inner.RPC(ctx, method, args, reply)
}

// Members implements agent.Backend.
func (f *Faults) Members() *structs.AgentMembersResponse { return f.inner.Members() }

// DialNode implements agent.Backend.
func (f *Faults) DialNode(ctx context.Context, req *structs.DialNodeRequest) (io.ReadWriteCloser, error) {
	return f.inner.DialNode(ctx, req)
}

// Logs implements agent.Backend.
func (f *Faults) Logs() *logmon.Broadcaster { return f.inner.Logs() }

// DialServer implements agent.Backend.
func (f *Faults) DialServer(ctx context.Context) (io.ReadWriteCloser, error) {
	return f.inner.DialServer(ctx)
}

// Health implements agent.Backend.
func (f *Faults) Health() *structs.AgentHealthResponse { return f.inner.Health() }

// Events implements agent.Backend.
func (f *Faults) Events() *server.EventBuffer { return f.inner.Events() }

// Self implements agent.Backend.
func (f *Faults) Self() *structs.AgentSelf { return f.inner.Self() }

// queryOptionsOf returns the QueryOptions a read request embeds.
func queryOptionsOf(args any) (structs.QueryOptions, bool) {
	v := reflect.ValueOf(args)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return structs.QueryOptions{}, false
	}
	field := v.Elem().FieldByName("QueryOptions")
	if !field.IsValid() {
		return structs.QueryOptions{}, false
	}
	q, ok := field.Interface().(structs.QueryOptions)
	return q, ok
}
