package simnet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/posnode/posnode/chain"
)

// defaultStake is each validator's genesis stake when Config.Stakes is nil.
const defaultStake = 1000

// ErrBadStakes: a --stakes value that is neither a list of positive integers nor a spread this file knows.
var ErrBadStakes = errors.New("simnet: bad stakes")

// stakeOf is validator i's genesis stake: Stakes[i mod len(Stakes)], or defaultStake.
func (c *Config) stakeOf(i int) uint64 {
	if len(c.Stakes) == 0 {
		return defaultStake
	}
	return c.Stakes[i%len(c.Stakes)]
}

// ParseStakes reads the genesis stakes of validators 0, 1, … from text: a comma-separated list of positive
// integers ("10,20,30,40", repeated when there are more validators), "geometric:N" (N validators' stakes 1, 2, 4,
// …, 2^(N−1) × 1,000 / 2^(N−1), at least 1: each holds twice the stake of the one before) or "zipf:N" (1,000 / k
// for k = 1…N: the k-th largest holds 1/k of the largest). The empty string gives nil (equal stakes).
func ParseStakes(text string) ([]uint64, error) {
	if text == "" {
		return nil, nil
	}
	if kind, n, ok := strings.Cut(text, ":"); ok {
		return spread(kind, n)
	}
	var out []uint64
	for _, f := range strings.Split(text, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil || v == 0 || v > 1<<40 {
			return nil, fmt.Errorf("%w: %q: want positive integers up to 2^40, comma-separated", ErrBadStakes, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// spread is ParseStakes's "geometric:N" and "zipf:N".
func spread(kind, count string) ([]uint64, error) {
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > 40 {
		return nil, fmt.Errorf("%w: %q: want 1 to 40 validators", ErrBadStakes, count)
	}
	out := make([]uint64, n)
	for k := range out {
		switch kind {
		case "geometric":
			out[k] = max(uint64(1000)<<k>>(n-1), 1)
		case "zipf":
			out[k] = uint64(1000 / (k + 1))
		default:
			return nil, fmt.Errorf("%w: %q: want geometric:N or zipf:N", ErrBadStakes, kind)
		}
	}
	return out, nil
}

// restake has a random live validator change its stake (Config.StakeEvery): stake up to its genesis stake more,
// or unstake up to half of its stake, each as its own transaction through its node (SubmitOwn). The change counts
// from StakeLag epochs after the epoch of the block that holds it (PROTOCOL.md §6). A refused submission is only
// counted.
func (s *Sim) restake() {
	i := s.rng.IntN(s.cfg.Validators)
	p := s.procs[i]
	if !p.up || s.isByzantine(i) {
		return
	}
	kind, amount := chain.TxStake, 1+s.rng.Uint64N(s.cfg.stakeOf(i))
	if s.rng.IntN(2) == 0 {
		kind, amount = chain.TxUnstake, uint64(p.node.Chain().HeadState().Account(p.addr).Stake)/2
	}
	if amount == 0 {
		return
	}
	if _, err := p.node.SubmitOwn(context.Background(), kind, chain.Address{}, amount); err != nil {
		s.stats.StakeRefused++
		return
	}
	s.stats.StakeTxs++
}
