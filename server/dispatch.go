package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/rpc"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/orch-io/orch/structs"
	"go.opentelemetry.io/otel/trace"
)

// The RPC dispatcher: orch's own replacement for net/rpc's server, speaking
// the same wire protocol (msgpack-rpc request and response headers, so
// net/rpc clients work unchanged) with three things net/rpc cannot do:
//
//   - every endpoint method takes a context.Context, cancelled when the
//     caller hangs up (its stream closes) or, in process, when the caller's
//     context ends;
//   - errors cross the wire with their code (structs.WireText), so callers
//     decide by code, never by text;
//   - a panicking endpoint fails its request with an internal error and a log
//     line naming the method, and the server lives.
//
// An endpoint method has the shape
//
//	func (e *jobEndpoint) Register(ctx context.Context, args *structs.JobRegisterRequest, reply *structs.JobRegisterResponse) error

// endpointMethod is one registered method.
type endpointMethod struct {
	rcvr      reflect.Value
	fn        reflect.Method
	argType   reflect.Type // the pointed-to type of args
	replyType reflect.Type // the pointed-to type of reply
}

// dispatcher holds the registered endpoint methods by "Service.Method". It
// is filled once, before the server serves, and only read after.
type dispatcher struct {
	logger  *slog.Logger
	methods map[string]*endpointMethod
	// received, when set, runs before each network call (testHooks.rpcReceived).
	received func(ctx context.Context, method string)
	// checkPeer, when set, runs before each network call: an error fails
	// the call (Server.checkServerOnly: who may send server-only traffic).
	checkPeer func(ctx context.Context, method string, args any) error
	// checkRegion, when set, refuses a call for another region
	// (Server.checkRegion).
	checkRegion func(args any) error
	// authorize, when set (ACLs enabled), runs before every call, in process
	// or not: an error fails the call, and the filter it returns, if any,
	// runs on the reply (Server.authorizeRPC).
	authorize func(ctx context.Context, method string, args any) (filter func(reply any), err error)
	// metrics are the server's: every call is counted and timed.
	metrics *serverMetrics
	// tracer records a span per call that belongs to a trace (nil: off).
	tracer *tracing.Tracer
}

var (
	ctxType   = reflect.TypeFor[context.Context]()
	errorType = reflect.TypeFor[error]()
)

// register adds every method of rcvr with the endpoint shape under name. A
// receiver with no such method is a programming error.
func (d *dispatcher) register(name string, rcvr any) error {
	v := reflect.ValueOf(rcvr)
	t := v.Type()
	n := 0
	for i := range t.NumMethod() {
		m := t.Method(i)
		mt := m.Type
		if mt.NumIn() != 4 || mt.NumOut() != 1 || mt.In(1) != ctxType || mt.Out(0) != errorType ||
			mt.In(2).Kind() != reflect.Pointer || mt.In(3).Kind() != reflect.Pointer {
			continue
		}
		d.methods[name+"."+m.Name] = &endpointMethod{rcvr: v, fn: m, argType: mt.In(2).Elem(), replyType: mt.In(3).Elem()}
		n++
	}
	if n == 0 {
		return fmt.Errorf("server: RPC endpoint %s (%s) has no method of the endpoint shape", name, t)
	}
	return nil
}

// call runs one method. args and reply are pointers of the method's types.
// A panic is recovered into an internal error.
func (d *dispatcher) call(ctx context.Context, name string, m *endpointMethod, args, reply reflect.Value) (err error) {
	rc := &rpcCall{}
	ctx = context.WithValue(ctx, rpcCallKey{}, rc)
	defer func(start time.Time) { d.metrics.observeRPC(name, rc, start, err) }(time.Now())
	if d.tracer.Enabled() {
		var span trace.Span
		ctx, span = d.startRPCSpan(ctx, name, args.Interface())
		defer func() { endSpan(span, err) }()
	}
	defer func() {
		if r := recover(); r != nil {
			d.logger.Error("RPC handler panicked; the request fails, the server goes on",
				"method", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = structs.NewError(structs.CodeInternal, "internal error in %s: %v", name, r)
		}
	}()
	if d.checkRegion != nil {
		if err := d.checkRegion(args.Interface()); err != nil {
			return err
		}
	}
	var filter func(any)
	if d.authorize != nil {
		if filter, err = d.authorize(ctx, name, args.Interface()); err != nil {
			return err
		}
	}
	out := m.fn.Func.Call([]reflect.Value{m.rcvr, reflect.ValueOf(ctx), args, reply})
	if e := out[0].Interface(); e != nil {
		return e.(error)
	}
	if filter != nil {
		filter(reply.Interface())
	}
	return nil
}

// lookup finds a method, or returns the error the caller gets for an unknown one.
func (d *dispatcher) lookup(name string) (*endpointMethod, error) {
	m := d.methods[name]
	if m == nil {
		return nil, structs.NewError(structs.CodeInvalid, "unknown RPC method %q", name)
	}
	return m, nil
}

// inProcess calls name with the caller's args and reply. They are copied
// through msgpack on the way in and out, as over the network, so the caller
// never shares objects with the state store, and the error comes back as a
// network caller would see it (code and text, nothing else).
func (d *dispatcher) inProcess(ctx context.Context, name string, args, reply any) error {
	m, err := d.lookup(name)
	if err != nil {
		return err
	}
	argv := reflect.New(m.argType)
	if err := roundTrip(args, argv.Interface()); err != nil {
		return structs.NewError(structs.CodeInvalid, "decoding the arguments of %s: %v", name, err)
	}
	replyv := reflect.New(m.replyType)
	if err := d.call(ctx, name, m, argv, replyv); err != nil {
		return structs.FromWire(structs.WireText(err))
	}
	if err := roundTrip(replyv.Interface(), reply); err != nil {
		return structs.NewError(structs.CodeInternal, "decoding the reply of %s: %v", name, err)
	}
	return nil
}

// serveStream serves the calls of one yamux stream (in practice one call:
// rpcwire opens a stream per call) until the caller closes it. Calls run
// concurrently; their context ends when the stream does, so a caller that
// hangs up cancels what it asked for (a blocking query, a forwarded write
// still waiting). parent ends every call at server shutdown.
func (d *dispatcher) serveStream(parent context.Context, conn io.ReadWriteCloser) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	bc := rpcwire.NewBufConn(conn)
	cdc := codec.MsgpackSpecRpc.ServerCodec(bc, structs.MsgpackHandle)
	defer bc.Release() // runs last: after the calls wrote their answers
	defer cdc.Close()
	var (
		writeMu sync.Mutex
		calls   sync.WaitGroup
	)
	respond := func(req *rpc.Request, body any, err error) {
		resp := &rpc.Response{ServiceMethod: req.ServiceMethod, Seq: req.Seq}
		if err != nil {
			resp.Error = structs.WireText(err)
			body = struct{}{}
		}
		writeMu.Lock()
		defer writeMu.Unlock()
		if werr := cdc.WriteResponse(resp, body); werr != nil && ctx.Err() == nil {
			d.logger.Debug("writing an RPC response failed", "method", req.ServiceMethod, "error", werr)
		}
	}
	for {
		req := new(rpc.Request)
		if err := cdc.ReadRequestHeader(req); err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				d.logger.Debug("RPC stream ended", "error", err)
			}
			break
		}
		m, err := d.lookup(req.ServiceMethod)
		if err != nil {
			if err := cdc.ReadRequestBody(nil); err != nil {
				break
			}
			respond(req, nil, err)
			continue
		}
		argv := reflect.New(m.argType)
		if err := cdc.ReadRequestBody(argv.Interface()); err != nil {
			respond(req, nil, structs.NewError(structs.CodeInvalid, "decoding the arguments of %s: %v", req.ServiceMethod, err))
			continue
		}
		bc.Idle() // the stream waits for the next request (or the caller's hang-up) without a buffer
		calls.Add(1)
		go func() {
			defer calls.Done()
			if d.received != nil {
				d.received(ctx, req.ServiceMethod)
			}
			replyv := reflect.New(m.replyType)
			var err error
			if d.checkPeer != nil {
				err = d.checkPeer(ctx, req.ServiceMethod, argv.Interface())
			}
			if err == nil {
				err = d.call(ctx, req.ServiceMethod, m, argv, replyv)
			}
			respond(req, replyv.Interface(), err)
		}()
	}
	// The caller closed its side (or the session died): cancel what still
	// runs for it, and wait so responses are not written to a closed codec.
	cancel()
	calls.Wait()
}
