package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// DefaultAddress is the agent's HTTP address when neither Config.Address nor
// $ORCH_ADDR says otherwise.
const DefaultAddress = "http://127.0.0.1:4646"

// EnvAddress names the environment variable that sets the default address.
const EnvAddress = "ORCH_ADDR"

// EnvToken and EnvNomadToken name the environment variables that set the
// default ACL token (ORCH_TOKEN first).
const (
	EnvToken      = "ORCH_TOKEN"
	EnvNomadToken = "NOMAD_TOKEN"
)

// EnvNamespace and EnvNomadNamespace name the environment variables that
// set the default namespace of requests (the first set wins).
const (
	EnvNamespace      = "ORCH_NAMESPACE"
	EnvNomadNamespace = "NOMAD_NAMESPACE"
)

// HeaderToken carries the ACL token of every request (Nomad's header, which
// orch agents read).
const HeaderToken = "X-Nomad-Token"

// Config configures a Client.
type Config struct {
	// SecretID is the ACL token sent with every request. Empty means
	// $ORCH_TOKEN, else $NOMAD_TOKEN, else none (anonymous).
	SecretID string
	// Namespace is sent as ?namespace= with every request that names none
	// of its own (QueryOptions.Namespace; a job's own namespace on
	// register): the namespace of the jobs, allocations, evaluations,
	// deployments and services read and written; "*" lists every
	// namespace. Empty means $ORCH_NAMESPACE, else $NOMAD_NAMESPACE, else
	// none (the agent's default, "default").
	Namespace string
	// Address of the agent's HTTP API: "http://host:port", or "host:port"
	// (http assumed). Empty means $ORCH_ADDR, or DefaultAddress.
	Address string
	// HTTPClient sends the requests; nil means one whose connections time
	// out after DefaultDialTimeout (timeouts.go).
	HTTPClient *http.Client
	// RequestTimeout bounds the wait for a response's headers; blocking
	// queries get their wait plus a margin instead (timeouts.go). 0 means
	// DefaultRequestTimeout; a negative value means no bound.
	RequestTimeout time.Duration
	// TLSConfig, for an https:// address: the CA and the client
	// certificate (tls.go). Its empty fields are read from the environment.
	TLSConfig TLSConfig
	// NoLeaderRetry bounds how long a write the agent answers with 503 (no
	// cluster leader: an election is in progress) is retried, with backoff
	// from 100ms, before the 503 is returned. 0 means DefaultNoLeaderRetry;
	// a negative value disables retrying.
	NoLeaderRetry time.Duration
}

// DefaultNoLeaderRetry is how long writes are retried while the cluster has
// no leader, unless Config.NoLeaderRetry says otherwise.
const DefaultNoLeaderRetry = 10 * time.Second

// Backoff between retries of a write that found no leader.
const (
	noLeaderBackoffMin = 100 * time.Millisecond
	noLeaderBackoffMax = time.Second
)

// QueryOptions are the parameters of a read.
type QueryOptions struct {
	// WaitIndex > 0 makes a blocking query: it returns once the data's index
	// exceeds WaitIndex, or after WaitTime (the agent's default is 5 minutes).
	WaitIndex uint64
	WaitTime  time.Duration
	// Prefix filters list results by ID prefix.
	Prefix string
	// Namespace, when set, is the namespace read instead of the client's
	// (Config.Namespace); "*" lists every namespace.
	Namespace string
	// AllowStale lets any server answer from its own state.
	AllowStale bool
	// Context, when set, cancels the request.
	Context context.Context
}

// QueryMeta is what a read tells about the data it returned.
type QueryMeta struct {
	LastIndex   uint64 // pass back as QueryOptions.WaitIndex
	KnownLeader bool
	LastContact time.Duration
}

// Error is a response that was not 2xx: the agent's status code and its message.
type Error struct {
	StatusCode int
	Message    string
	// Code is the error's code from the X-Orch-Error-Code header ("no_leader",
	// "indeterminate", "conflict", ...); "" from an agent that predates codes.
	Code string
}

// The headers of the request-ID protocol. Every write carries a request ID
// (a UUID made once per logical write, the same on each retry), with which
// the servers apply the write at most once and answer a retry with the first
// outcome. Error responses say in HeaderErrorCode whether the write was
// certainly not applied ("no_leader") or may have been ("indeterminate").
const (
	HeaderRequestID = "X-Orch-Request-ID"
	// HeaderTraceParent carries a W3C trace context (RegisterOptions.TraceParent).
	HeaderTraceParent = "traceparent"
	HeaderErrorCode   = "X-Orch-Error-Code"
)

// Error codes of HeaderErrorCode a write is retried on (see retryWrite).
const (
	codeNoLeader      = "no_leader"
	codeIndeterminate = "indeterminate"
)

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("unexpected response %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// IsPermissionDenied reports whether err is a 403 from the agent: no token,
// an unknown or expired one, or one whose policies do not allow the request.
func IsPermissionDenied(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusForbidden
}

// IsNotFound reports whether err is a 404 from the agent.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// ConnError is a request that never got a response: the agent is not there,
// not reachable, or the connection broke.
type ConnError struct {
	Address string
	Err     error
}

func (e *ConnError) Error() string {
	reason := e.Err.Error()
	switch {
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case isDNSError(e.Err):
		reason = "unknown host"
	case isTLSError(e.Err):
		return fmt.Sprintf("TLS with the orch agent at %s failed: %s (set -ca-cert or %s to the cluster's CA, and -client-cert/-client-key if the agent verifies clients)",
			e.Address, reason, EnvCACert[0])
	}
	return fmt.Sprintf("cannot reach the orch agent at %s: %s (is \"orch agent\" running? set %s or -address)",
		e.Address, reason, EnvAddress)
}

func (e *ConnError) Unwrap() error { return e.Err }

func isDNSError(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// Client talks to one agent. It is safe for concurrent use.
type Client struct {
	token          string
	namespace      string
	base           *url.URL
	http           *http.Client
	noLeaderRetry  time.Duration
	requestTimeout time.Duration
}

// NewClient returns a client of the agent at cfg.Address (see Config). It
// only checks the address; it does not connect.
func NewClient(cfg *Config) (*Client, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	addr := strings.TrimSpace(c.Address)
	if addr == "" {
		addr = os.Getenv(EnvAddress)
	}
	if addr == "" {
		addr = DefaultAddress
	}
	base, err := parseAddress(addr)
	if err != nil {
		return nil, err
	}
	tlsc, err := c.TLSConfig.withEnv()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := tlsc.build()
	if err != nil {
		return nil, err
	}
	if c.HTTPClient == nil {
		c.HTTPClient = defaultHTTPClient()
		if err := applyTLS(c.HTTPClient, tlsCfg); err != nil {
			return nil, err
		}
	} else if tlsCfg != nil {
		return nil, errors.New("api: Config.TLSConfig and Config.HTTPClient: give the TLS configuration in the HTTPClient's transport")
	}
	if c.NoLeaderRetry == 0 {
		c.NoLeaderRetry = DefaultNoLeaderRetry
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	token := c.SecretID
	for _, env := range []string{EnvToken, EnvNomadToken} {
		if token == "" {
			token = strings.TrimSpace(os.Getenv(env))
		}
	}
	ns := strings.TrimSpace(c.Namespace)
	for _, env := range []string{EnvNamespace, EnvNomadNamespace} {
		if ns == "" {
			ns = strings.TrimSpace(os.Getenv(env))
		}
	}
	return &Client{token: token, namespace: ns, base: base, http: c.HTTPClient, noLeaderRetry: c.NoLeaderRetry, requestTimeout: c.RequestTimeout}, nil
}

// ErrInvalidAddress is wrapped by NewClient's error for an unusable
// Config.Address.
var ErrInvalidAddress = errors.New("invalid agent address")

// parseAddress accepts "http(s)://host:port[/]" or "host:port".
func parseAddress(addr string) (*url.URL, error) {
	raw := addr
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrInvalidAddress, addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w %q: scheme %q: must be http or https", ErrInvalidAddress, addr, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w %q: no host: want http://host:port", ErrInvalidAddress, addr)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w %q: must not have a query or fragment", ErrInvalidAddress, addr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// Namespace returns the namespace the client sends with its requests ("":
// none, the agent's default).
func (c *Client) Namespace() string { return c.namespace }

// Address returns the agent's address as the client uses it, without a trailing slash.
func (c *Client) Address() string { return c.base.String() }

// query sends GET path with q's parameters and decodes the JSON body into out.
func (c *Client) query(path string, q *QueryOptions, out any) (*QueryMeta, error) {
	return c.queryWith(path, q, nil, out)
}

// queryWith is query with extra parameters of the endpoint's own.
func (c *Client) queryWith(path string, q *QueryOptions, extra url.Values, out any) (*QueryMeta, error) {
	params := url.Values{}
	for k, vs := range extra {
		params[k] = vs
	}
	var ctx context.Context
	if q != nil {
		if q.WaitIndex > 0 {
			params.Set("index", strconv.FormatUint(q.WaitIndex, 10))
		}
		if q.WaitTime > 0 {
			params.Set("wait", q.WaitTime.String())
		}
		if q.Prefix != "" {
			params.Set("prefix", q.Prefix)
		}
		if q.AllowStale {
			params.Set("stale", "true")
		}
		if q.Namespace != "" {
			params.Set("namespace", q.Namespace)
		}
		ctx = q.Context
	}
	if c.namespace != "" && params.Get("namespace") == "" {
		params.Set("namespace", c.namespace)
	}
	resp, err := c.do(ctx, http.MethodGet, path, params, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	meta := parseMeta(resp.Header)
	if err := c.decode(resp, path, out); err != nil {
		return nil, err
	}
	return meta, nil
}

// write sends method path with in as JSON (nil: no body) and decodes the
// response into out. The write carries a request ID made here, once, and
// sent again on every retry. A 503 the write may be sent again on
// (retryWrite) is retried with backoff for up to the client's NoLeaderRetry,
// so that a write during a failover succeeds once a new leader is elected,
// and is applied once.
func (c *Client) write(method, path string, params url.Values, in, out any) error {
	return c.writeHeader(method, path, params, in, out, nil)
}

// writeHeader is write with extra request headers (a traceparent).
func (c *Client) writeHeader(method, path string, params url.Values, in, out any, extra http.Header) error {
	var payload []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding the request to %s: %w", path, err)
		}
		payload = b
	}
	if c.namespace != "" {
		// The client's namespace wins over a job's own, as Nomad's
		// -namespace does.
		params = cloneValues(params)
		params.Set("namespace", c.namespace)
	}
	deadline := time.Now().Add(c.noLeaderRetry)
	wait := noLeaderBackoffMin
	hdr := http.Header{HeaderRequestID: {uuid.NewString()}}
	for k, v := range extra {
		hdr[k] = v
	}
	var unsure *Error // the last attempt answered indeterminate (perhaps applied)
	for {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		resp, err := c.doHeader(context.Background(), method, path, params, body, hdr)
		if err == nil {
			defer resp.Body.Close()
			return c.decode(resp, path, out)
		}
		var apiErr *Error
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusServiceUnavailable && apiErr.Code == codeIndeterminate {
			unsure = apiErr
		}
		if !retryWrite(err) || time.Now().Add(wait).After(deadline) {
			return settleWriteError(err, unsure)
		}
		time.Sleep(wait) // backoff between retries
		wait = min(2*wait, noLeaderBackoffMax)
	}
}

// settleWriteError is the error of a write whose last attempt failed with
// err, when an earlier attempt was answered indeterminate (unsure): that
// attempt may have been applied, so a last attempt that learned nothing of
// the outcome (the agent unreachable, the cluster still without a leader)
// leaves the write indeterminate, not failed. An answer of the servers to
// the retry (which carries the same request ID, so they answer with the
// first outcome) is the write's error.
func settleWriteError(err error, unsure *Error) error {
	if unsure == nil {
		return err
	}
	var apiErr *Error
	if errors.As(err, &apiErr) && apiErr.StatusCode != http.StatusServiceUnavailable {
		return err
	}
	return &Error{StatusCode: unsure.StatusCode, Code: unsure.Code,
		Message: fmt.Sprintf("%s; a retry then failed: %v", unsure.Message, err)}
}

// retryWrite reports whether a write that failed with err may be sent again
// with the same request ID: the agent answered 503 with code no_leader (not
// applied) or indeterminate (perhaps applied: the request ID makes the servers
// answer the retry with the first outcome instead of applying it again), or
// without a code (an agent that predates codes, which answered every
// leaderless write so).
func retryWrite(err error) bool {
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
		return false
	}
	switch apiErr.Code {
	case codeNoLeader, codeIndeterminate, "":
		return true
	}
	return false
}

// do sends one request. A transport failure becomes a *ConnError; a non-2xx
// response an *Error (with the body closed).
func (c *Client) do(ctx context.Context, method, path string, params url.Values, body io.Reader) (*http.Response, error) {
	return c.doHeader(ctx, method, path, params, body, nil)
}

// doHeader is do with extra request headers.
func (c *Client) doHeader(ctx context.Context, method, path string, params url.Values, body io.Reader, hdr http.Header) (*http.Response, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	// path is already escaped (see idPath): keep it as the raw path so that
	// an escaped "/" in an ID stays inside its segment.
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	unescaped, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("building request %s %s: %w", method, path, err)
	}
	u.Path = unescaped
	u.RawQuery = params.Encode()
	bound := boundRequest(ctx, c.responseTimeout(params)) // timeouts.go
	req, err := http.NewRequestWithContext(bound.ctx, method, u.String(), body)
	if err != nil {
		bound.done()
		return nil, fmt.Errorf("building request %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set(HeaderToken, c.token)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	bound.gotResponse()
	if err != nil {
		bound.done()
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case bound.timedOut():
			return nil, &ConnError{Address: c.Address(), Err: bound.noResponseError()}
		}
		return nil, &ConnError{Address: c.Address(), Err: unwrapURLError(err)}
	}
	resp.Body = bound.releaseOnClose(resp.Body)
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, &Error{StatusCode: resp.StatusCode, Message: httpsHint(c, resp.StatusCode, strings.TrimSpace(string(msg))), Code: resp.Header.Get(HeaderErrorCode)}
	}
	return resp, nil
}

// decode reads a JSON body into out (nil: discard).
func (c *Client) decode(resp *http.Response, path string, out any) error {
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding the response of %s from %s: %w", path, c.Address(), err)
	}
	return nil
}

// unwrapURLError drops net/http's "Get \"url\": " wrapping, which repeats
// what ConnError says.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseMeta reads the QueryMeta headers of a read.
func parseMeta(h http.Header) *QueryMeta {
	m := &QueryMeta{}
	if v := h.Get("X-Orch-Index"); v != "" {
		m.LastIndex, _ = strconv.ParseUint(v, 10, 64)
	}
	m.KnownLeader = h.Get("X-Orch-KnownLeader") == "true"
	if v := h.Get("X-Orch-LastContact"); v != "" {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			m.LastContact = time.Duration(ms) * time.Millisecond
		}
	}
	return m
}

// idPath returns prefix + the escaped id, or an error when id is empty (the
// path would name the list endpoint's neighbour, or nothing).
func idPath(prefix, what, id string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", fmt.Errorf("empty %s ID", what)
	}
	return prefix + url.PathEscape(id), nil
}

// cloneValues copies v (nil gives an empty set).
func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// decodeString decodes JSON held in a string, such as an error response's body.
func decodeString(s string, out any) error { return json.Unmarshal([]byte(s), out) }
