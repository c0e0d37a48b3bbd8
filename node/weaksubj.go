package node

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// Weak subjectivity (PROTOCOL.md §12): a node follows the network only while its view of the chain, the newer of
// its finalized checkpoint and the operator's trusted checkpoint, is within the weak-subjectivity period of the
// clock; and it refuses every chain that does not contain the trusted checkpoint (chain.TreeConfig.Trusted).

// outOfTouchLogEvery is how often a node that does not follow the network says so again in the log.
const outOfTouchLogEvery = time.Minute

// errTrustedCheckpoint: the trusted checkpoint cannot be used with this chain database or clock.
var errTrustedCheckpoint = errors.New("trusted checkpoint")

// wsPeriod returns the weak-subjectivity period in epochs: chain.WeakSubjectivityEpochs, or the tests' knob.
func (c Config) wsPeriod() uint64 {
	if c.wsEpochs != 0 {
		return c.wsEpochs
	}
	return chain.WeakSubjectivityEpochs
}

// checkTrusted refuses a trusted checkpoint that cannot be right: of epoch 0 but not genesis, of an epoch the
// clock has not reached, or absent from the branch of the chain database's head (that database followed another
// chain: it must be moved aside).
func checkTrusted(cfg Config, tree *chain.Tree, dbPath string) error {
	c := cfg.Checkpoint
	if c == nil {
		return nil
	}
	if c.Epoch == 0 && c.Hash != cfg.Genesis.Hash() {
		return fmt.Errorf("%w %s: epoch 0's checkpoint is genesis %s", errTrustedCheckpoint, c.Text(), cfg.Genesis.Hash())
	}
	if now := currentEpoch(cfg); c.Epoch > now {
		return fmt.Errorf("%w %s: epoch %d has not begun (the current epoch is %d)", errTrustedCheckpoint, c.Text(), c.Epoch, now)
	}
	head := tree.Head()
	if ok, _ := tree.Contains(head.Hash, *c); !ok {
		return fmt.Errorf("%w %s: the chain database holds a chain without it (head %s at height %d); move it aside (mv %s %s.other) and start again to fetch the chain from peers",
			errTrustedCheckpoint, c.Text(), head.Hash.Short(), head.Height, dbPath, dbPath)
	}
	return nil
}

// currentEpoch is the epoch of cfg's clock.
func currentEpoch(cfg Config) chain.Epoch {
	g := cfg.Genesis
	return g.EpochOf(consensus.SlotAt(g.Time, time.Duration(g.SlotDuration), cfg.Now()))
}

// checkInTouch logs the weak-subjectivity period and decides, once at start, whether the node may follow the
// network (PROTOCOL.md §12): not when more than the period has passed since the epoch of its newest finalized
// or trusted checkpoint. Such a node neither syncs, imports blocks nor signs (outOfTouch), and says what to do.
func (n *Node) checkInTouch() {
	g, period := n.cfg.Genesis, n.cfg.wsPeriod()
	_, fin := n.tree.Finality()
	anchor, from := fin.Epoch, "finalized checkpoint"
	if c := n.cfg.Checkpoint; c != nil && c.Epoch >= anchor {
		anchor, from = c.Epoch, "trusted checkpoint"
	}
	now := currentEpoch(n.cfg)
	wall := time.Duration(period) * time.Duration(g.EpochLength) * time.Duration(g.SlotDuration)
	fields := []zap.Field{zap.Uint64("period_epochs", period), zap.Duration("period", wall),
		zap.Uint64("epoch", uint64(now)), zap.String("anchor", from), zap.Uint64("anchor_epoch", uint64(anchor))}
	if n.cfg.Checkpoint != nil {
		fields = append(fields, zap.String("checkpoint", n.cfg.Checkpoint.Text()))
	}
	if !chain.ViewTooOld(anchor, now, period) {
		n.log.Info("weak subjectivity", fields...)
		return
	}
	if n.cfg.IgnoreWSCheck {
		n.log.Warn("following a chain older than the weak-subjectivity period without a recent checkpoint, as "+
			"ignore_ws_check asks: safe only when this operator holds every validator key of the network", fields...)
		return
	}
	n.outOfTouch = fmt.Sprintf("the %s is of epoch %d, %d epochs ago, older than the weak-subjectivity period of %d epochs (%s): "+
		"validators of that time may have unbonded and signed another history unpunished. Get a recent checkpoint "+
		"from an operator you trust (the checkpoint field of their node's GET /api/finality, EPOCH:HASH) and restart "+
		"with posnode run --checkpoint EPOCH:HASH (or POSNODE_CHECKPOINT, or \"checkpoint\" in config.json)",
		from, anchor, now-anchor, period, wall)
	n.log.Error("not following the network without a recent checkpoint", append(fields, zap.String("why", n.outOfTouch))...)
}
