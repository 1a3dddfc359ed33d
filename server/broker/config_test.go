package broker

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidateNamesEveryBadField(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig invalid: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero Config invalid: %v", err)
	}
	err := Config{NackTimeout: -time.Second, DeliveryLimit: -1, InitialNackDelay: -time.Millisecond}.Validate()
	if err == nil {
		t.Fatal("negative values accepted")
	}
	for _, want := range []string{"NackTimeout = -1s", "DeliveryLimit = -1", "InitialNackDelay = -1ms", "must be >= 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestConfigZeroFieldsTakeDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	d := DefaultConfig()
	if c.NackTimeout != d.NackTimeout || c.DeliveryLimit != d.DeliveryLimit ||
		c.InitialNackDelay != d.InitialNackDelay || c.SubsequentNackDelay != d.SubsequentNackDelay || c.Clock == nil {
		t.Fatalf("zero Config with defaults = %+v, want %+v", c, d)
	}
	if d.NackTimeout != 60*time.Second || d.DeliveryLimit != 3 || d.InitialNackDelay != 0 {
		t.Fatalf("DefaultConfig = %+v: want 60s nack timeout, 3 deliveries, immediate first redelivery", d)
	}
	// A negative subsequent delay means none; impossible values become safe ones.
	c = Config{NackTimeout: -1, DeliveryLimit: -1, InitialNackDelay: -1, SubsequentNackDelay: -1}.withDefaults()
	if c.NackTimeout != DefaultNackTimeout || c.DeliveryLimit != DefaultDeliveryLimit || c.InitialNackDelay != 0 || c.SubsequentNackDelay != 0 {
		t.Fatalf("negative Config with defaults = %+v", c)
	}
}
