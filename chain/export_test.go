package chain

import "testing"

// RaceDetector reports whether the tests run with -race, for the tests of package chain_test.
const RaceDetector = raceDetector

// SetStakeLag makes the genesis states made until the test ends follow a stake-table lag of lag epochs instead
// of StakeLag (PROTOCOL.md §6), so that a test can measure what the lag protects against. A test that calls it
// must not run in parallel with others.
func SetStakeLag(t testing.TB, lag int) {
	old := tableLag
	tableLag = lag
	t.Cleanup(func() { tableLag = old })
}

// newAccounts returns an account map holding m.
func newAccounts(m map[Address]Account) cowMap[Address, Account] { return cowMapOf(m) }
