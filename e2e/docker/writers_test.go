package dockere2e

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// register is one logical write through a, recorded in the history.
func (c *cluster) register(writer string, a *agent, job *structs.Job) Outcome {
	at := WriteAttempt{Writer: writer, JobID: job.ID, Start: time.Now()}
	// The API client sends one request ID (X-Orch-Request-ID) on every
	// attempt of this write, so its own retries are deduplicated; it does not
	// expose it, so the history does not record it.
	client, err := c.api(a)
	if err == nil {
		_, err = client.Jobs().Register(job)
	}
	at.End = time.Now()
	at.Outcome, at.Detail = classify(err)
	c.hist.Record(at)
	return at.Outcome
}

// classify maps what the API client returned to what the caller knows.
func classify(err error) (Outcome, string) {
	if err == nil {
		return OutcomeOK, ""
	}
	var apiErr *api.Error
	var connErr *api.ConnError
	switch {
	case errors.As(err, &apiErr):
		switch {
		case apiErr.StatusCode >= 400 && apiErr.StatusCode < 500:
			return OutcomeFailed, err.Error()
		case apiErr.Code == string(structs.CodeNoLeader),
			apiErr.Code == "" && apiErr.StatusCode == http.StatusServiceUnavailable && !indeterminate(apiErr.Message):
			// "No cluster leader": the server says the write was not applied.
			return OutcomeFailed, err.Error()
		}
		return OutcomeUnknown, err.Error()
	case errors.As(err, &connErr) && errors.Is(err, syscall.ECONNREFUSED):
		return OutcomeFailed, err.Error() // never reached the agent
	case errors.Is(err, errUnreachable):
		return OutcomeFailed, err.Error() // never sent
	}
	return OutcomeUnknown, err.Error()
}

// indeterminate reports whether a 503's message says the write may have
// been applied, for answers read without their X-Orch-Error-Code header
// (the probe inside a cut-off container prints only status and body).
func indeterminate(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "indeterminate") || strings.Contains(msg, "outcome unknown") ||
		strings.Contains(msg, "may have") || strings.Contains(msg, "may or may not")
}

// writers register jobs of unique IDs in a loop, one goroutine per target
// server, each write recorded in the cluster's history.
type writers struct {
	quit chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	acks []time.Time // when each acknowledged write was answered
	errs []string    // the last few errors, for timeouts
}

// startWriters starts one writer per target; every 20th job places one task.
func (c *cluster) startWriters(prefix string, targets ...*agent) *writers {
	w := &writers{quit: make(chan struct{})}
	for _, a := range targets {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-w.quit:
					return
				default:
				}
				id := fmt.Sprintf("%s-%s-%d", prefix, a.name, i)
				count := 0
				if i%20 == 19 {
					count = 1
				}
				outcome := c.register(prefix+"/"+a.name, a, sleepJob(id, count))
				if outcome == OutcomeOK {
					w.mu.Lock()
					w.acks = append(w.acks, time.Now())
					w.mu.Unlock()
					continue
				}
				attempts := c.hist.Attempts()
				w.mu.Lock()
				w.errs = append(w.errs, attempts[len(attempts)-1].Detail)
				if len(w.errs) > 5 {
					w.errs = w.errs[1:]
				}
				w.mu.Unlock()
				select { // pace retries against a server that is down
				case <-w.quit:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
	}
	c.t.Cleanup(w.stop)
	return w
}

func (w *writers) stop() {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	w.wg.Wait()
}

// waitAcksAfter waits until n writes were acknowledged after since.
func (w *writers) waitAcksAfter(t *testing.T, since time.Time, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d writes acknowledged", n), 60*time.Second, func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		got := 0
		for _, at := range w.acks {
			if at.After(since) {
				got++
			}
		}
		if got < n {
			return fmt.Errorf("%d so far; last errors: %q", got, w.errs)
		}
		return nil
	})
}

// firstAckAfter returns when the first write after since was acknowledged
// (zero time: none yet).
func (w *writers) firstAckAfter(since time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, at := range w.acks {
		if at.After(since) {
			return at
		}
	}
	return time.Time{}
}

// longestGap is the longest time without an acknowledgement between from
// and the last acknowledgement, counting from from.
func (w *writers) longestGap(from time.Time) time.Duration {
	w.mu.Lock()
	acks := slices.Clone(w.acks)
	w.mu.Unlock()
	slices.SortFunc(acks, func(a, b time.Time) int { return a.Compare(b) })
	var gap time.Duration
	prev := from
	for _, at := range acks {
		if at.Before(from) {
			continue
		}
		gap = max(gap, at.Sub(prev))
		prev = at
	}
	return gap
}
