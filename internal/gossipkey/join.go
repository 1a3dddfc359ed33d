package gossipkey

import (
	"errors"
	"fmt"
	"strings"
)

// ErrKeyMismatch is the error of a join refused because the two sides'
// gossip keys differ (or one side encrypts and the other does not).
var ErrKeyMismatch = errors.New("gossipkey: gossip encryption does not match")

// memberlist reports these failures only as text (no typed errors); these
// are its messages, as of the version in go.mod (TestExplainJoinError
// checks them against a real memberlist).
var (
	msgWrongKey       = "no installed keys could decrypt the message"
	msgWeArePlain     = "remote state is encrypted and encryption is not configured"
	msgTheyArePlain   = "encryption is configured but remote state is not encrypted"
	hintSetTheSameKey = "every agent of a cluster's gossip needs the key in use: server { encrypt = \"...\" } with the same key, or the keys of `orch operator gossip keyring -list` on a running server"
)

// ExplainJoinError turns memberlist's join error into one that says what
// is wrong when the cause is gossip encryption (wrapping ErrKeyMismatch);
// other errors come back unchanged.
func ExplainJoinError(err error) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	var why string
	switch {
	case strings.Contains(text, msgWrongKey):
		why = "the agents reached encrypt gossip with another key than this agent's"
	case strings.Contains(text, msgWeArePlain):
		why = "the agents reached encrypt gossip and this agent has no key (server.encrypt is not set)"
	case strings.Contains(text, msgTheyArePlain):
		why = "this agent encrypts gossip and the agents reached do not (they have no server.encrypt)"
	default:
		return err
	}
	return fmt.Errorf("%w: %s; %s (memberlist: %s)", ErrKeyMismatch, why, hintSetTheSameKey, strings.TrimSpace(strings.ReplaceAll(text, "\n", " ")))
}
