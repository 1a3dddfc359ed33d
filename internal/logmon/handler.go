package logmon

import (
	"context"
	"log/slog"
	"slices"
)

// Handler is an slog.Handler that passes every record to the agent's own
// handler (which keeps its level) and to the Broadcaster's subscribers.
type Handler struct {
	inner slog.Handler
	b     *Broadcaster
	// ops are the WithAttrs and WithGroup calls that derived this handler,
	// replayed when a record is formatted for subscribers.
	ops []op
}

// op is one WithAttrs (attrs) or WithGroup (group) call.
type op struct {
	group string
	attrs []slog.Attr
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler wraps inner: records go to inner as before, and to b's
// subscribers.
func NewHandler(inner slog.Handler, b *Broadcaster) *Handler {
	return &Handler{inner: inner, b: b}
}

// Enabled is true when the agent's handler or a subscriber takes level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.b.wants(level) || h.inner.Enabled(ctx, level)
}

// Handle sends r to the agent's handler if it takes r's level, and to the
// subscribers that do.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if h.b.wants(r.Level) {
		h.b.publish(ctx, h.ops, r)
	}
	if h.inner.Enabled(ctx, r.Level) {
		return h.inner.Handle(ctx, r)
	}
	return nil
}

// WithAttrs returns a Handler that adds attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return &Handler{inner: h.inner.WithAttrs(attrs), b: h.b, ops: append(slices.Clip(h.ops), op{attrs: attrs})}
}

// WithGroup returns a Handler that puts later attributes in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{inner: h.inner.WithGroup(name), b: h.b, ops: append(slices.Clip(h.ops), op{group: name})}
}
