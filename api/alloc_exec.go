package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
)

// ExecOptions is one interactive command in a task (orch alloc exec).
type ExecOptions struct {
	Task    string // "" for the group's only task
	Command []string
	// Tty runs the command on a pseudo-terminal of the agent's node: its
	// output then all comes on Stdout.
	Tty bool
	// Stdin is sent until io.EOF, which closes the command's stdin; nil
	// sends nothing and closes it at once.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Sizes delivers the terminal's size, its first value before any input
	// when Tty (nil: none).
	Sizes <-chan TerminalSize
}

// Exec runs opts.Command in a running task of the allocation over a
// WebSocket (GET /v1/client/allocation/:id/exec) and returns the command's
// exit code once it exits. An error means the command did not run or the
// session broke (the agent's reason, when it gave one); ctx ending ends the
// session and kills the command.
func (a *Allocations) Exec(ctx context.Context, allocID string, opts ExecOptions) (int, error) {
	p, err := idPath("/v1/client/allocation/", "allocation", allocID)
	if err != nil {
		return 0, err
	}
	cmd, err := json.Marshal(opts.Command)
	if err != nil {
		return 0, err
	}
	params := url.Values{"command": {string(cmd)}, "tty": {strconv.FormatBool(opts.Tty)}}
	if opts.Task != "" {
		params.Set("task", opts.Task)
	}
	conn, err := a.c.websocket(ctx, p+"/exec", params)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var sendMu sync.Mutex
	send := func(in *ExecStreamingInput) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return conn.WriteJSON(in)
	}
	go func() { // terminal sizes
		for {
			select {
			case sz, ok := <-opts.Sizes:
				if !ok {
					return
				}
				_ = send(&ExecStreamingInput{TTYSize: &TerminalSize{Height: sz.Height, Width: sz.Width}})
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { // stdin
		if opts.Stdin != nil {
			buf := make([]byte, 16<<10)
			for {
				n, err := opts.Stdin.Read(buf)
				if n > 0 {
					if send(&ExecStreamingInput{Stdin: &ExecStreamingIOOperation{Data: buf[:n]}}) != nil {
						return
					}
				}
				if err != nil {
					break
				}
			}
		}
		_ = send(&ExecStreamingInput{Stdin: &ExecStreamingIOOperation{Close: true}})
	}()

	for {
		var out ExecStreamingOutput
		if err := conn.ReadJSON(&out); err != nil {
			var ce *websocket.CloseError
			switch {
			case ctx.Err() != nil:
				return 0, ctx.Err()
			case errors.As(err, &ce) && ce.Text != "":
				return 0, errors.New(ce.Text)
			}
			return 0, fmt.Errorf("exec: the session ended before the command's exit: %w", err)
		}
		switch {
		case out.Exited && out.Result != nil:
			return out.Result.ExitCode, nil
		case out.Stdout != nil && len(out.Stdout.Data) > 0 && opts.Stdout != nil:
			_, _ = opts.Stdout.Write(out.Stdout.Data)
		case out.Stderr != nil && len(out.Stderr.Data) > 0 && opts.Stderr != nil:
			_, _ = opts.Stderr.Write(out.Stderr.Data)
		}
	}
}

// websocket opens a WebSocket to path with params, with the client's token
// and TLS settings. An answer other than the upgrade is returned as *Error,
// as any other request's.
func (c *Client) websocket(ctx context.Context, path string, params url.Values) (*websocket.Conn, error) {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	unescaped, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, err
	}
	u.Path = unescaped
	u.RawQuery = params.Encode()
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	d := websocket.Dialer{ReadBufferSize: 4096, WriteBufferSize: 4096, HandshakeTimeout: DefaultRequestTimeout}
	if t, ok := c.http.Transport.(*http.Transport); ok {
		d.NetDialContext, d.Proxy, d.TLSClientConfig = t.DialContext, t.Proxy, t.TLSClientConfig
	}
	hdr := http.Header{}
	if c.token != "" {
		hdr.Set(HeaderToken, c.token)
	}
	conn, resp, err := d.DialContext(ctx, u.String(), hdr)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			defer resp.Body.Close()
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			return nil, &Error{StatusCode: resp.StatusCode, Message: httpsHint(c, resp.StatusCode, strings.TrimSpace(string(msg))), Code: resp.Header.Get(HeaderErrorCode)}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &ConnError{Address: c.Address(), Err: err}
	}
	return conn, nil
}
