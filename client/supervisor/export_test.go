package supervisor

import "os"

// newerEnv, set in a supervisor's environment, makes the test binary run as
// a supervisor of the next protocol version (NewerCommand).
const newerEnv = "ORCH_TEST_SUPERVISOR_NEWER"

func init() {
	if os.Getenv(newerEnv) != "" {
		speaksUpTo = ProtocolVersion + 1
	}
}

// SpeakNewerProtocol makes this process's Clients say hello with the next
// protocol version, as an upgraded agent would, until restore is called
// (after every such Client is closed).
func SpeakNewerProtocol() (restore func()) {
	helloVersion = ProtocolVersion + 1
	return func() { helloVersion = ProtocolVersion }
}

// NewerEnv is the environment entry that makes a supervisor started by the
// test binary speak the next protocol version.
const NewerEnv = newerEnv + "=1"
