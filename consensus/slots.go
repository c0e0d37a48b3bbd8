package consensus

import (
	"math"
	"time"

	"github.com/posnode/posnode/chain"
)

// SlotAt returns the slot that contains now: floor((now − genesis) / d) (PROTOCOL.md §2). Slot 0
// is [genesis, genesis+d); a moment before genesis is in slot 0 too, and so is every moment when
// d is not positive. Time is an argument, never read from a clock.
func SlotAt(genesis time.Time, d time.Duration, now time.Time) chain.Slot {
	elapsed := now.Sub(genesis) // saturates at about 292 years
	if d <= 0 || elapsed <= 0 {
		return 0
	}
	return chain.Slot(elapsed / d)
}

// SlotStart returns the moment slot s begins: genesis + s·d (PROTOCOL.md §2). A slot too far
// ahead to express as a time.Duration saturates at the last slot that is; a non-positive d gives
// genesis. SlotAt(genesis, d, SlotStart(genesis, d, s)) == s for every slot that does not saturate.
func SlotStart(genesis time.Time, d time.Duration, s chain.Slot) time.Time {
	if d <= 0 {
		return genesis
	}
	if last := chain.Slot(math.MaxInt64 / d); s > last {
		s = last
	}
	return genesis.Add(time.Duration(s) * d)
}
