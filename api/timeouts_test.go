package api

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// silentListener accepts connections and never answers on them; it closes
// them when the test ends.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestAnAgentThatNeverAnswersFailsWithAClearError(t *testing.T) {
	c, err := NewClient(&Config{Address: silentListener(t), RequestTimeout: 100 * time.Millisecond, NoLeaderRetry: -1})
	if err != nil {
		t.Fatal(err)
	}
	// Reads and writes alike; without the timeout each would hang forever.
	_, _, readErr := c.Jobs().List(nil)
	_, writeErr := c.Jobs().Deregister("web", false)
	for name, err := range map[string]error{"read": readErr, "write": writeErr} {
		var ce *ConnError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "no response within 100ms (the agent accepted the connection but did not answer)") {
			t.Errorf("%s: %v, want a ConnError saying there was no response within 100ms", name, err)
		}
	}
}

func TestBlockingQueriesGetTheirWaitPlusAMargin(t *testing.T) {
	c, err := NewClient(&Config{Address: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		params url.Values
		want   time.Duration
	}{
		{url.Values{}, DefaultRequestTimeout},
		{url.Values{"wait": {"10m"}}, DefaultRequestTimeout}, // not blocking without an index
		{url.Values{"index": {"5"}}, 5*time.Minute + 5*time.Minute/16 + blockingQueryMargin},
		{url.Values{"index": {"5"}, "wait": {"2m"}}, 2*time.Minute + 2*time.Minute/16 + blockingQueryMargin},
		{url.Values{"index": {"5"}, "wait": {"1s"}}, DefaultRequestTimeout},
	} {
		if got := c.responseTimeout(tt.params); got != tt.want {
			t.Errorf("responseTimeout(%v) = %s, want %s", tt.params, got, tt.want)
		}
	}
	unbounded, _ := NewClient(&Config{Address: "127.0.0.1:1", RequestTimeout: -1})
	if got := unbounded.responseTimeout(url.Values{}); got != 0 {
		t.Errorf("RequestTimeout -1: %s, want no bound", got)
	}
}
