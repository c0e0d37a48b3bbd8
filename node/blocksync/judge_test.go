package blocksync

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// A sync failure costs the peer what it deserves, and nothing when it is not the peer's fault.
func TestSyncPenalty(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"undecodable answer", fmt.Errorf("%w: 3 trailing bytes", ErrBadMessage), PenaltyInvalid},
		{"block 1 for every range", fmt.Errorf("%w: block 0 at height 1, want 7", ErrBadRange), PenaltyInvalid},
		{"invalid block", fmt.Errorf("import blocks: %w", fmt.Errorf("block x: %w", chain.ErrWrongProposer)), PenaltyInvalid},
		{"another chain", fmt.Errorf("%w: its chain does not join ours", ErrForeignChain), PenaltyInvalid},
		{"head not delivered", fmt.Errorf("%w: nothing at height 5", ErrUndelivered), PenaltyUndelivered},
		{"request expired: a paused or partitioned peer, not a liar", fmt.Errorf("blocks from 3: %w", context.DeadlineExceeded), 0},
		{"our own limit", fmt.Errorf("blocks from 3: %w: %w", p2p.ErrRemote, p2p.ErrRateLimited), 0},
		{"their handler failed", fmt.Errorf("status: %w: node is not running", p2p.ErrRemote), 0},
		{"a block from our future", fmt.Errorf("import blocks: %w", chain.ErrFutureSlot), 0},
		{"our store", errors.New("store 3 blocks: disk full"), 0},
		{"connection closed", fmt.Errorf("status: %w", p2p.ErrClosed), 0},
	}
	for _, tt := range tests {
		if got := Penalty(tt.err); got != tt.want {
			t.Errorf("%s: got %d points, want %d", tt.name, got, tt.want)
		}
	}
}
