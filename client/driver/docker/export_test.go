package docker

import "testing"

// TestImage and NewTestDriver let the package's external tests (figures)
// share the test image.
const TestImage = testImage

func NewTestDriver(t *testing.T) *Docker { return newDriver(t, DefaultPluginConfig()) }
