// Package logmon fans an agent's log out to live subscribers: `orch monitor`
// and /v1/agent/monitor (and the logs `orch operator debug` captures).
//
// The agent wraps the handler of its logger with a Handler once, at start;
// every logger derived from it (With, WithGroup) shares the Handler's
// subscribers. A subscriber asks for a level, which may be lower than the
// agent's own (a monitor at debug sees debug lines the agent's log file does
// not get), and a format (text or JSON, as slog writes them). Each record is
// formatted once per format in use and offered to each subscriber without
// blocking: a subscriber whose buffer is full loses the line and its Dropped
// count goes up, so a slow reader never slows the agent down.
//
// With no subscriber the Handler costs the agent one atomic load per log
// call (BenchmarkHandler).
package logmon
