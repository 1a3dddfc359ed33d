package logmon

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestSubscriberSeesLowerLevelThanAgent(t *testing.T) {
	var agentLog bytes.Buffer
	b := New()
	logger := slog.New(NewHandler(slog.NewTextHandler(&agentLog, &slog.HandlerOptions{Level: slog.LevelInfo}), b))
	sub := b.Subscribe(Options{Level: slog.LevelDebug})
	defer sub.Close()

	logger.With("component", "server").WithGroup("g").Debug("eval enqueued", "eval_id", "e1")
	logger.Info("agent started")

	got := string(<-sub.Lines())
	if !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "component=server") || !strings.Contains(got, "g.eval_id=e1") {
		t.Errorf("debug line to the subscriber = %q", got)
	}
	if got := string(<-sub.Lines()); !strings.Contains(got, `msg="agent started"`) {
		t.Errorf("info line to the subscriber = %q", got)
	}
	if strings.Contains(agentLog.String(), "eval enqueued") || !strings.Contains(agentLog.String(), "agent started") {
		t.Errorf("the agent's own log kept its level: %q", agentLog.String())
	}
}

func TestSubscriberLevelAndJSON(t *testing.T) {
	b := New()
	logger := slog.New(NewHandler(slog.DiscardHandler, b))
	sub := b.Subscribe(Options{Level: slog.LevelWarn, JSON: true})
	defer sub.Close()
	logger.Info("not sent")
	logger.Warn("sent", "n", 3)
	var line map[string]any
	if err := json.Unmarshal(<-sub.Lines(), &line); err != nil {
		t.Fatal(err)
	}
	if line["msg"] != "sent" || line["n"] != float64(3) {
		t.Errorf("line = %v", line)
	}
	select {
	case l := <-sub.Lines():
		t.Errorf("unexpected line %q", l)
	default:
	}
}

func TestSlowSubscriberDropsAndNeverBlocks(t *testing.T) {
	b := New()
	logger := slog.New(NewHandler(slog.DiscardHandler, b))
	sub := b.Subscribe(Options{Level: slog.LevelInfo, Buffer: 2})
	for range 10 {
		logger.Info("line") // would block forever if a full buffer blocked
	}
	if got := sub.Dropped(); got != 8 {
		t.Errorf("Dropped = %d, want 8", got)
	}
	sub.Close()
	sub.Close()
	n := 0
	for range sub.Lines() {
		n++
	}
	if n != 2 {
		t.Errorf("buffered lines = %d, want 2", n)
	}
	if b.Subscribers() != 0 || b.wants(slog.LevelError) {
		t.Error("a closed subscription is still counted")
	}
}

// BenchmarkHandler is the cost the fan-out adds to a log call the agent
// writes (info, to a text handler): none (the bare handler), the Handler
// without subscribers, and with one subscriber that keeps up.
func BenchmarkHandler(b *testing.B) {
	inner := slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})
	run := func(b *testing.B, logger *slog.Logger) {
		b.ReportAllocs()
		for b.Loop() {
			logger.Info("eval enqueued", "eval_id", "5c2f1a3e-0000-4000-8000-000000000000", "job_id", "web")
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, slog.New(inner).With("component", "server")) })
	b.Run("no-subscriber", func(b *testing.B) {
		run(b, slog.New(NewHandler(inner, New())).With("component", "server"))
	})
	b.Run("one-subscriber", func(b *testing.B) {
		br := New()
		sub := br.Subscribe(Options{Level: slog.LevelInfo, Buffer: 1 << 16})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range sub.Lines() {
			}
		}()
		run(b, slog.New(NewHandler(inner, br)).With("component", "server"))
		sub.Close()
		<-done
	})
	b.Run("debug-off-no-subscriber", func(b *testing.B) {
		logger := slog.New(NewHandler(inner, New())).With("component", "server")
		b.ReportAllocs()
		for b.Loop() {
			logger.Debug("eval dequeued", "eval_id", "5c2f1a3e")
		}
	})
}
