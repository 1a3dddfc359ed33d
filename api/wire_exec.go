package api

// The frames of an exec session (GET /v1/client/allocation/:id/exec, a
// WebSocket), one JSON object per WebSocket message, as Nomad's: the caller
// sends ExecStreamingInput, the agent ExecStreamingOutput. Data is base64
// (encoding/json's []byte).

// ExecStreamingIOOperation is data or the close of one stream.
type ExecStreamingIOOperation struct {
	Data  []byte `json:"data,omitempty"`
	Close bool   `json:"close,omitempty"`
}

// TerminalSize is a terminal's size in characters.
type TerminalSize struct {
	Height int `json:"height,omitempty"`
	Width  int `json:"width,omitempty"`
}

// ExecStreamingInput is one message from the caller: stdin, or a new
// terminal size; an empty one is a heartbeat.
type ExecStreamingInput struct {
	Stdin   *ExecStreamingIOOperation `json:"stdin,omitempty"`
	TTYSize *TerminalSize             `json:"tty_size,omitempty"`
}

// ExecStreamingExitResult is the command's exit code.
type ExecStreamingExitResult struct {
	ExitCode int `json:"exit_code"`
}

// ExecStreamingOutput is one message from the agent: output, or the exit
// (Exited with Result), after which the agent closes the WebSocket. An
// exec that fails ends with a close message whose text says why.
type ExecStreamingOutput struct {
	Stdout *ExecStreamingIOOperation `json:"stdout,omitempty"`
	Stderr *ExecStreamingIOOperation `json:"stderr,omitempty"`
	Exited bool                      `json:"exited,omitempty"`
	Result *ExecStreamingExitResult  `json:"result,omitempty"`
}
