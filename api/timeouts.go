package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Timeouts of the client, so that an agent that accepts connections and never
// answers (a hung process, a half-open connection, a firewall that drops
// packets) fails a command with a clear error within a bound instead of
// hanging it.
//
// The bound is on the time until the response's headers arrive, not on the
// whole exchange, so that a snapshot download may stream for as long as it
// takes. A blocking query (?index=) is allowed its wait plus a margin.
const (
	// DefaultDialTimeout bounds connecting to the agent.
	DefaultDialTimeout = 5 * time.Second
	// DefaultRequestTimeout bounds the wait for the answer to a request that
	// is not a blocking query, unless Config.RequestTimeout says otherwise.
	DefaultRequestTimeout = 60 * time.Second
	// agentDefaultQueryWait is how long the agent holds a blocking query
	// that gives no wait.
	agentDefaultQueryWait = 5 * time.Minute
	// blockingQueryMargin is added to a blocking query's wait: the agent
	// adds up to wait/16 of jitter, and the answer must travel back.
	blockingQueryMargin = 15 * time.Second
)

// errNoResponse is the cause of a request cancelled by its timeout.
var errNoResponse = errors.New("api: no response within the request timeout")

// defaultHTTPClient is the http.Client of a Client whose Config gives none:
// the default transport with a bounded dial and TLS handshake.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	return &http.Client{Transport: t}
}

// responseTimeout is how long a request with params may wait for its
// response's headers: the client's request timeout, or for a blocking query
// its wait (the agent's default when it gives none) plus a margin. 0 means
// no bound (Config.RequestTimeout < 0).
func (c *Client) responseTimeout(params url.Values) time.Duration {
	if c.requestTimeout < 0 {
		return 0
	}
	if params.Get("index") == "" {
		return c.requestTimeout
	}
	wait := agentDefaultQueryWait
	if d, err := time.ParseDuration(params.Get("wait")); err == nil && d > 0 {
		wait = d
	}
	return max(c.requestTimeout, wait+wait/16+blockingQueryMargin)
}

// boundedRequest is the part of one request that enforces its timeout.
type boundedRequest struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer // nil without a bound
	timeout time.Duration
}

// boundRequest derives the context of one request from ctx: it is cancelled
// when timeout passes before the response's headers arrive (call gotResponse
// then). done releases it.
func boundRequest(ctx context.Context, timeout time.Duration) *boundedRequest {
	b := &boundedRequest{timeout: timeout}
	b.ctx, b.cancel = context.WithCancelCause(ctx)
	if timeout > 0 {
		b.timer = time.AfterFunc(timeout, func() { b.cancel(errNoResponse) })
	}
	return b
}

// gotResponse stops the timeout: the body may take as long as it takes.
func (b *boundedRequest) gotResponse() {
	if b.timer != nil {
		b.timer.Stop()
	}
}

func (b *boundedRequest) done() { b.cancel(context.Canceled) }

// timedOut reports whether the request was cancelled by its timeout.
func (b *boundedRequest) timedOut() bool { return errors.Is(context.Cause(b.ctx), errNoResponse) }

// noResponseError is the error of a request that timed out.
func (b *boundedRequest) noResponseError() error {
	return fmt.Errorf("no response within %s (the agent accepted the connection but did not answer)", b.timeout)
}

// releaseOnClose makes closing body release the request's context.
func (b *boundedRequest) releaseOnClose(body io.ReadCloser) io.ReadCloser {
	return &releasingBody{ReadCloser: body, release: b.done}
}

type releasingBody struct {
	io.ReadCloser
	release func()
}

func (r *releasingBody) Close() error {
	err := r.ReadCloser.Close()
	r.release()
	return err
}
