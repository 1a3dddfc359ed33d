package broker

import (
	"errors"
	"fmt"
	"time"

	"github.com/orch-io/orch/internal/clock"
	"github.com/orch-io/orch/structs"
)

// Defaults of Config, as DefaultConfig returns them.
const (
	DefaultNackTimeout                            = 60 * time.Second
	DefaultDeliveryLimit                          = 3
	DefaultInitialNackDelay         time.Duration = 0
	DefaultSubsequentNackDelay                    = time.Second
	DefaultFailedFollowupDelay                    = time.Minute
	DefaultFailedFollowupDelayRange               = 5 * time.Minute
)

// Config tunes the Broker. The zero value is usable: New replaces every zero
// field with its default (see DefaultConfig).
type Config struct {
	// NackTimeout is how long a worker may hold a dequeued evaluation without
	// Ack, Nack or OutstandingReset before the broker nacks it on its behalf.
	// Zero means DefaultNackTimeout.
	NackTimeout time.Duration

	// DeliveryLimit is how many times an evaluation is handed out before a
	// Nack sends it to the FailedQueue instead of back to its scheduler's queue.
	// Zero means DefaultDeliveryLimit.
	DeliveryLimit int

	// InitialNackDelay is how long an evaluation nacked after its first delivery
	// waits before it is ready again. Zero (the default) redelivers at once.
	InitialNackDelay time.Duration

	// SubsequentNackDelay is how long an evaluation nacked after its second or
	// later delivery waits before it is ready again, so that an evaluation that
	// keeps failing does not spin. Zero means DefaultSubsequentNackDelay; a
	// negative value means no delay.
	SubsequentNackDelay time.Duration

	// FailedFollowupDelay and FailedFollowupDelayRange set when the follow-up
	// of an evaluation failed at the delivery limit runs: after the delay plus
	// a random part of the range (FollowupWaitUntil), so that a failing job
	// does not spin and many of them do not return at once. Zero means the
	// default (one minute, and five minutes); a negative range means none.
	FailedFollowupDelay      time.Duration
	FailedFollowupDelayRange time.Duration

	// Clock schedules the nack timers and delays. Nil means real time; tests
	// pass a fake clock and advance it.
	Clock Clock

	// ObserveWait, when set, is told how long each dequeued evaluation
	// waited ready (by Clock), for the server's metrics. It runs with the
	// broker's lock held: it must be quick and must not call the broker.
	ObserveWait func(eval *structs.Evaluation, wait time.Duration)
}

// DefaultConfig returns the configuration a server uses unless told otherwise.
func DefaultConfig() Config {
	return Config{
		NackTimeout:              DefaultNackTimeout,
		DeliveryLimit:            DefaultDeliveryLimit,
		InitialNackDelay:         DefaultInitialNackDelay,
		SubsequentNackDelay:      DefaultSubsequentNackDelay,
		FailedFollowupDelay:      DefaultFailedFollowupDelay,
		FailedFollowupDelayRange: DefaultFailedFollowupDelayRange,
		Clock:                    RealClock(),
	}
}

// Validate reports every field that holds an impossible value. It does not
// fill defaults: New does that for zero fields.
func (c Config) Validate() error {
	var errs []error
	if c.NackTimeout < 0 {
		errs = append(errs, fmt.Errorf("broker: NackTimeout = %s: must be >= 0 (0 means %s)", c.NackTimeout, DefaultNackTimeout))
	}
	if c.DeliveryLimit < 0 {
		errs = append(errs, fmt.Errorf("broker: DeliveryLimit = %d: must be >= 0 (0 means %d)", c.DeliveryLimit, DefaultDeliveryLimit))
	}
	if c.InitialNackDelay < 0 {
		errs = append(errs, fmt.Errorf("broker: InitialNackDelay = %s: must be >= 0", c.InitialNackDelay))
	}
	if c.FailedFollowupDelay < 0 {
		errs = append(errs, fmt.Errorf("broker: FailedFollowupDelay = %s: must be >= 0 (0 means %s)", c.FailedFollowupDelay, DefaultFailedFollowupDelay))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with zero fields replaced by their defaults and
// impossible values (which Validate reports) replaced by something safe, so
// that New never fails and never panics.
func (c Config) withDefaults() Config {
	if c.NackTimeout <= 0 {
		c.NackTimeout = DefaultNackTimeout
	}
	if c.DeliveryLimit <= 0 {
		c.DeliveryLimit = DefaultDeliveryLimit
	}
	if c.InitialNackDelay < 0 {
		c.InitialNackDelay = 0
	}
	switch {
	case c.SubsequentNackDelay == 0:
		c.SubsequentNackDelay = DefaultSubsequentNackDelay
	case c.SubsequentNackDelay < 0:
		c.SubsequentNackDelay = 0
	}
	if c.FailedFollowupDelay <= 0 {
		c.FailedFollowupDelay = DefaultFailedFollowupDelay
	}
	switch {
	case c.FailedFollowupDelayRange == 0:
		c.FailedFollowupDelayRange = DefaultFailedFollowupDelayRange
	case c.FailedFollowupDelayRange < 0:
		c.FailedFollowupDelayRange = 0
	}
	if c.Clock == nil {
		c.Clock = RealClock()
	}
	return c
}

// Clock is the broker's source of time, the one of internal/clock (the
// server passes its own). Every timer the broker starts goes through
// AfterFunc, so a fake clock controls all of them.
type Clock = clock.Clock

// Stopper stops a timer started by Clock.AfterFunc. Stop reports whether it
// stopped the timer before it fired; f may still run after Stop returns
// false, and the broker's callbacks are written to ignore such late calls.
type Stopper = clock.Timer

// RealClock returns the Clock of package time.
func RealClock() Clock { return clock.Real() }
