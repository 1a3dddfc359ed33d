package logmon

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
)

// Broadcaster holds the subscribers of one agent's log. Safe for concurrent
// use. The zero value is not usable: call New.
type Broadcaster struct {
	// minLevel is the lowest level a subscriber asked for, noSubscriber
	// when there is none: the one thing a log call reads when nobody
	// listens.
	minLevel atomic.Int64

	mu struct {
		sync.Mutex
		subs map[*Subscription]struct{}
	}
}

// noSubscriber is minLevel with no subscriber: above every level.
const noSubscriber = math.MaxInt64

// New returns a Broadcaster with no subscriber.
func New() *Broadcaster {
	b := &Broadcaster{}
	b.minLevel.Store(noSubscriber)
	b.mu.subs = map[*Subscription]struct{}{}
	return b
}

// Options say what a subscriber receives.
type Options struct {
	// Level is the lowest level sent (it may be lower than the agent's).
	Level slog.Level
	// JSON formats lines as slog's JSONHandler does; otherwise as its
	// TextHandler.
	JSON bool
	// Buffer is how many lines may wait for the reader before new ones are
	// dropped (0: 512).
	Buffer int
}

// Subscription is one subscriber's feed of log lines.
type Subscription struct {
	b       *Broadcaster
	opts    Options
	lines   chan []byte
	dropped atomic.Uint64
	closed  bool // guarded by b.mu
}

// Subscribe adds a subscriber. The caller reads Lines and must Close the
// subscription when done.
func (b *Broadcaster) Subscribe(opts Options) *Subscription {
	if opts.Buffer <= 0 {
		opts.Buffer = 512
	}
	s := &Subscription{b: b, opts: opts, lines: make(chan []byte, opts.Buffer)}
	b.mu.Lock()
	b.mu.subs[s] = struct{}{}
	b.updateLevelLocked()
	b.mu.Unlock()
	return s
}

// Lines delivers the subscriber's log lines, each ending in a newline. The
// receiver owns each slice. It is closed by Close.
func (s *Subscription) Lines() <-chan []byte { return s.lines }

// Dropped is how many lines were lost because the reader was behind.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close removes the subscriber and closes Lines. Calling it again does
// nothing.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	delete(s.b.mu.subs, s)
	s.b.updateLevelLocked()
	close(s.lines)
}

func (b *Broadcaster) updateLevelLocked() {
	lowest := int64(noSubscriber)
	for s := range b.mu.subs {
		lowest = min(lowest, int64(s.opts.Level))
	}
	b.minLevel.Store(lowest)
}

// wants reports whether some subscriber takes records of level l.
func (b *Broadcaster) wants(l slog.Level) bool { return int64(l) >= b.minLevel.Load() }

// Subscribers is how many subscriptions are open.
func (b *Broadcaster) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.mu.subs)
}

// publish offers r, logged through a handler derived with ops, to every
// subscriber that takes its level, formatting it at most once per format.
func (b *Broadcaster) publish(ctx context.Context, ops []op, r slog.Record) {
	var text, json []byte
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.mu.subs {
		if r.Level < s.opts.Level {
			continue
		}
		line := &text
		if s.opts.JSON {
			line = &json
		}
		if *line == nil {
			*line = format(ctx, ops, r, s.opts.JSON)
		}
		select {
		case s.lines <- *line:
		default:
			s.dropped.Add(1)
		}
	}
}

// format writes r as slog's text or JSON handler would, through the
// attributes and groups ops added. Lines are shared between subscribers of
// the same format: they are never written to after this.
func format(ctx context.Context, ops []op, r slog.Record, json bool) []byte {
	var buf bytes.Buffer
	hopts := &slog.HandlerOptions{Level: slog.Level(math.MinInt)}
	var h slog.Handler
	if json {
		h = slog.NewJSONHandler(&buf, hopts)
	} else {
		h = slog.NewTextHandler(&buf, hopts)
	}
	for _, o := range ops {
		if o.group != "" {
			h = h.WithGroup(o.group)
		} else {
			h = h.WithAttrs(o.attrs)
		}
	}
	_ = h.Handle(ctx, r)
	return buf.Bytes()
}
