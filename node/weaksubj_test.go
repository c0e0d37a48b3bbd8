package node

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/blocksync"
)

// TestLongRangeAttackNeedsTheCheckpoint is issue 21's long-range attack over real libp2p (PROTOCOL.md §12). Three
// validators holding 82 % of the genesis stake unstaked in the chain's first block; two others carried the
// chain for 40 epochs since. The three old keys, worthless now, rebuild a chain from genesis in which they never
// unstaked: it fills every slot they win and finalizes under its own stake tables, and a peer serves it.
//
//   - A fresh node given the real chain's finalized checkpoint (copied from a real node's /api/finality form)
//     refuses the rebuilt chain in one line naming the peer that served it, penalises that peer, and follows the
//     real chain once it meets a real node.
//   - A fresh node without a checkpoint does not follow the network at all: it says so and what to do, in its
//     log and in /api/status, and does not sync from the real node it is connected to.
//
// To keep it fast, the fresh nodes use a weak-subjectivity period of 8 epochs (Config.wsEpochs, a test-only
// knob) instead of chain.WeakSubjectivityEpochs; the real nodes and the attacker's use the real one, which the
// 40-epoch chain is within.
func TestLongRangeAttackNeedsTheCheckpoint(t *testing.T) {
	const (
		epochs   = 40
		slot     = 100 * time.Millisecond
		wsEpochs = 8
		attacker = 5
		fresh    = 6
		stale    = 7
	)
	// Keys 0–2: the old validators; 3–4: today's validators, run as nodes; 5: the attacker's serving node;
	// 6, 7: fresh nodes. Epochs are 8 slots (newCluster).
	c := newCluster(t, []uint64{30, 30, 30, 10, 10, 0, 0, 0}, slot, -(epochs*8+2)*slot)
	built := chain.Slot(epochs * c.gen.EpochLength)
	old := c.keys[:3]
	unstake := func(s chain.Slot, _ *chain.State) []chain.Tx {
		if s != 1 {
			return nil
		}
		var txs []chain.Tx
		for _, k := range old {
			tx := chain.NewTx(chain.TxUnstake, chain.AddressOf(k.Public().(ed25519.PublicKey)), 0, chain.Address{}, 30, c.gen.TxFee)
			tx.Sign(c.gen.Hash(), k)
			txs = append(txs, tx)
		}
		return txs
	}
	realBlocks := buildBranch(t, c.gen, c.keys[:5], built, unstake, false, c.homes[3], c.homes[4])
	if len(realBlocks) != int(built) || len(realBlocks[0].Txs) != 3 {
		t.Fatalf("real chain: %d blocks, %d txs in the first; want %d blocks and the 3 unstakes", len(realBlocks), len(realBlocks[0].Txs), built)
	}
	c.start(3)
	c.start(4, 3)
	waitFor(t, 30*time.Second, "the real nodes to finalize a checkpoint after the built chain", func() bool {
		f, err := c.nodes[3].Finality(context.Background())
		return err == nil && f.Finalized.Epoch > epochs
	})
	realView, err := c.nodes[3].Finality(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := chain.ParseCheckpoint(realView.Checkpoint) // the operator copies /api/finality's checkpoint field
	if err != nil {
		t.Fatal(err)
	}
	// The attacker rebuilds up to the present (the slot before the current one), an epoch past the checkpoint's,
	// and serves it alone.
	cpSlot := chain.Slot(uint64(cp.Epoch) * c.gen.EpochLength)
	waitFor(t, 10*time.Second, "an epoch past the checkpoint's", func() bool {
		return consensus.SlotAt(c.gen.Time, slot, time.Now()) > cpSlot+chain.Slot(c.gen.EpochLength)
	})
	now := consensus.SlotAt(c.gen.Time, slot, time.Now()) - 1
	rebuilt := buildBranch(t, c.gen, old, now, nil, true, c.homes[attacker])
	if last := rebuilt[len(rebuilt)-1].Header.Slot; last < cpSlot {
		t.Fatalf("the rebuilt chain ends at slot %d, before the checkpoint's epoch (slot %d)", last, cpSlot)
	}
	t.Logf("real chain: %d blocks built, then run live; rebuilt chain: %d blocks to slot %d, every slot its 3 keys win, with their votes",
		len(realBlocks), len(rebuilt), now)
	c.start(attacker)
	if f, _ := c.nodes[attacker].Finality(context.Background()); f.Finalized.Epoch < epochs-3 {
		t.Fatalf("the rebuilt chain finalized only %s; the attack needs it to finalize", f.Finalized)
	}

	// The fresh node with the checkpoint, bootstrapped to the attacker only.
	logs := observedLogger(t, fresh)
	n := c.run(fresh, Config{Home: c.homes[fresh], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: c.nodes[attacker].Addrs()[:1], Logger: logs.logger, Checkpoint: &cp, wsEpochs: wsEpochs})
	attackerID := c.nodes[attacker].Address().String()
	waitFor(t, 30*time.Second, "the fresh node to refuse the rebuilt chain", func() bool {
		return logs.count("refused a peer's chain: it does not contain the trusted checkpoint", attackerID) > 0
	})
	if p := n.host.PenaltyPoints(attackerID); p < blocksync.PenaltyInvalid/2 {
		t.Errorf("the attacker's peer has %.0f penalty points, want about %d", p, blocksync.PenaltyInvalid)
	}
	if st := c.status(fresh); st.Height >= uint64(rebuilt[len(rebuilt)-1].Header.Height) || st.WeakSubjectivity != "" {
		t.Errorf("fresh node after the attacker: height %d (rebuilt chain %d), weak_subjectivity %q", st.Height,
			rebuilt[len(rebuilt)-1].Header.Height, st.WeakSubjectivity)
	}
	if err := n.host.Connect(context.Background(), c.nodes[3].Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the fresh node to follow the real chain past its checkpoint", func() bool {
		f, err := n.Finality(context.Background())
		return err == nil && f.Finalized.Epoch >= cp.Epoch && c.status(fresh).Height > uint64(built)
	})
	c.agreeAt(uint64(built)+1, 20*time.Second, 3, fresh)
	if ok := chainContains(t, n, cp); !ok {
		t.Errorf("the fresh node's chain does not contain %s", cp.Text())
	}
	t.Logf("checkpoint %s: rebuilt chain refused (peer %s, %.0f points), real chain followed to height %d",
		cp.Text(), shortPeer(attackerID), n.host.PenaltyPoints(attackerID), c.status(fresh).Height)

	// The fresh node without a checkpoint, bootstrapped to a real node: it does not follow, and says what to do.
	slogs := observedLogger(t, stale)
	s := c.run(stale, Config{Home: c.homes[stale], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: c.nodes[3].Addrs()[:1], Logger: slogs.logger, wsEpochs: wsEpochs})
	if slogs.count("not following the network without a recent checkpoint", "posnode run --checkpoint EPOCH:HASH") != 1 {
		t.Errorf("no ERROR line at start saying what to do; got:\n%s", slogs.all())
	}
	waitFor(t, 20*time.Second, "the node without a checkpoint to turn a sync request down", func() bool {
		return slogs.count("not syncing: not following the network without a recent checkpoint", "") > 0
	})
	st := c.status(stale)
	if st.Height != 0 || !strings.Contains(st.WeakSubjectivity, "posnode run --checkpoint EPOCH:HASH") ||
		st.Signing != "not a validator" || len(s.Peers()) == 0 { // its key holds no stake: nothing to sign
		t.Errorf("node without a checkpoint: height %d, %d peers, signing %q, weak_subjectivity %q", st.Height,
			len(s.Peers()), st.Signing, st.WeakSubjectivity)
	}
	t.Logf("without a checkpoint: %s", st.WeakSubjectivity)
}

// chainContains reports whether n's canonical chain holds cp's block at cp's position.
func chainContains(t *testing.T, n *Node, cp chain.Checkpoint) bool {
	var ok bool
	if err := n.call(context.Background(), func() { ok, _ = n.tree.Contains(n.tree.Head().Hash, cp) }); err != nil {
		t.Fatal(err)
	}
	return ok
}

// observed is a node's logger that writes to the test log and keeps every entry for assertions.
type observed struct {
	logger *zap.Logger
	logs   *observer.ObservedLogs
}

func observedLogger(t *testing.T, i int) observed {
	core, logs := observer.New(zapcore.DebugLevel)
	l := zaptest.NewLogger(t)
	return observed{zap.New(zapcore.NewTee(l.Core(), core)).Named(fmt.Sprintf("node%d", i)), logs}
}

// count returns how many entries have message msg and a field whose text holds want ("" for any).
func (o observed) count(msg, want string) int {
	n := 0
	for _, e := range o.logs.FilterMessage(msg).All() {
		if want == "" {
			n++
			continue
		}
		for _, v := range e.ContextMap() {
			if strings.Contains(fmt.Sprint(v), want) {
				n++
				break
			}
		}
	}
	return n
}

func (o observed) all() string {
	var b strings.Builder
	for _, e := range o.logs.All() {
		fmt.Fprintf(&b, "%s %s %v\n", e.Level, e.Message, e.ContextMap())
	}
	return b.String()
}

// buildBranch writes into the chain database of each of dirs the chain that keys alone build on g from genesis:
// a block in every slot 1…slots whose winner on the branch is among keys (the others stay empty), holding
// txs(slot, state) if txs is set and, if vote, each key's vote for the branch's checkpoint of every epoch from 1
// (PROTOCOL.md §8a). It returns the blocks.
func buildBranch(t *testing.T, g *chain.Genesis, keys []ed25519.PrivateKey, slots chain.Slot,
	txs func(chain.Slot, *chain.State) []chain.Tx, vote bool, dirs ...string) []*chain.Block {
	t.Helper()
	mem, err := chain.OpenTree(chain.TreeConfig{Genesis: g, Store: chain.NewMemStore(), Elect: consensus.Leader,
		Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		t.Fatal(err)
	}
	byAddr := map[chain.Address]ed25519.PrivateKey{}
	for _, k := range keys {
		byAddr[chain.AddressOf(k.Public().(ed25519.PublicKey))] = k
	}
	var out []*chain.Block
	for s := chain.Slot(1); s <= slots; s++ {
		leader, ok := mem.Leader(s)
		key, mine := byAddr[leader]
		if !ok || !mine {
			continue
		}
		var body chain.Body
		if txs != nil {
			body.Txs = txs(s, mem.HeadState())
		}
		if e := g.EpochOf(s); vote && e > 0 {
			source, _ := mem.Finality()
			for _, k := range keys {
				v := chain.Vote{Validator: chain.AddressOf(k.Public().(ed25519.PublicKey)), Source: source, Target: mem.Checkpoint(e)}
				v.Sign(g.Hash(), k)
				body.Votes = append(body.Votes, v)
			}
		}
		b, bad, err := mem.ProposeBody(mem.Head().Hash, s, key, body)
		if err != nil || len(bad) > 0 {
			t.Fatalf("slot %d: %v, %d txs left out", s, err, len(bad))
		}
		if _, err := mem.Insert(b, s); err != nil {
			t.Fatalf("slot %d: %v", s, err)
		}
		out = append(out, b)
	}
	for _, d := range dirs {
		store, err := chain.OpenBolt(filepath.Join(d, "chain.db"))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.PutBlocks(out); err != nil {
			t.Fatal(err)
		}
		store.Close()
	}
	return out
}

// At start (PROTOCOL.md §12): a trusted checkpoint the chain database or the clock contradicts stops the start
// with what to do; a node on a genesis older than the period is out of touch without a checkpoint, and in touch
// with one of the current epoch — on a chain with no block yet, genesis is that checkpoint (/api/finality's
// target).
func TestTrustedCheckpointAtStart(t *testing.T) {
	c := newCluster(t, []uint64{10, 20}, time.Second, -time.Hour)
	if err := BuildChain(c.homes[0], c.gen, c.keys, 40, 0); err != nil {
		t.Fatal(err)
	}
	// open opens a node of home with cp and returns, if it opened, what keeps it from following; it closes it.
	open := func(home string, cp *chain.Checkpoint) (string, error) {
		n, err := New(Config{Home: home, Genesis: c.gen, Checkpoint: cp})
		if err != nil {
			return "", err
		}
		n.closePending()
		n.guard.Close()
		n.store.Close()
		return n.outOfTouch, nil
	}
	other := chain.HashBytes([]byte("another chain"))
	now := currentEpoch(Config{Genesis: c.gen, Now: time.Now}) // 450, or 451 past the slot 3607
	for _, tc := range []struct {
		name string
		cp   chain.Checkpoint
		says string
	}{
		{"epoch 0 not genesis", chain.Checkpoint{Epoch: 0, Hash: other}, "epoch 0's checkpoint is genesis"},
		{"epoch not begun", chain.Checkpoint{Epoch: now + 2, Hash: other}, fmt.Sprintf("epoch %d has not begun", now+2)},
		{"database on another chain", chain.Checkpoint{Epoch: 2, Hash: other}, "move it aside"},
	} {
		if _, err := open(c.homes[0], &tc.cp); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.says)
		}
	}
	if why, err := open(c.homes[1], nil); err != nil || !strings.Contains(why, "--checkpoint EPOCH:HASH") {
		t.Errorf("genesis an hour old, no checkpoint: %v, out of touch %q", err, why)
	}
	if why, err := open(c.homes[1], &chain.Checkpoint{Epoch: now, Hash: c.gen.Hash()}); err != nil || why != "" {
		t.Errorf("genesis an hour old, genesis as epoch %d's checkpoint: %v, out of touch %q", now, err, why)
	}
	n, err := New(Config{Home: c.homes[1], Genesis: c.gen, IgnoreWSCheck: true}) // a local testnet's operator
	if err != nil {
		t.Fatal(err)
	}
	n.closePending()
	n.guard.Close()
	n.store.Close()
	if n.outOfTouch != "" {
		t.Errorf("genesis an hour old, no checkpoint, IgnoreWSCheck: out of touch %q, want following", n.outOfTouch)
	}
}
