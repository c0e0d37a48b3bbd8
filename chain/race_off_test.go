//go:build !race

package chain

// raceDetector reports whether the tests run with -race, which makes ed25519 about ten times slower.
const raceDetector = false
