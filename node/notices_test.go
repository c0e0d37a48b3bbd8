package node

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/finality"
)

// noticeNode opens node i of c without running it, with a prompt's announcement channel and a clock the test
// sets (*now), so that the test drives the loop's methods itself.
func noticeNode(t *testing.T, c *cluster, i int, now *time.Time) *Node {
	t.Helper()
	n, err := New(Config{Home: c.homes[i], Genesis: c.gen, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.closeStores() })
	n.events = make(chan string, 1024)
	return n
}

// drain returns the announcements made since the last drain.
func drain(n *Node) []string {
	var out []string
	for {
		select {
		case s := <-n.events:
			out = append(out, s)
		default:
			return out
		}
	}
}

// findLine returns the first line holding every part, or fails the test.
func findLine(t *testing.T, lines []string, what string, parts ...string) string {
	t.Helper()
	for _, l := range lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l
		}
	}
	t.Fatalf("no notice of %s (want %q) among:\n%s", what, parts, strings.Join(lines, "\n"))
	return ""
}

// voterBranch builds on tree, from its head up to slot upto, a block for every slot a validator of keys wins,
// each carrying their votes for its epoch; extra[s] are the transactions of slot s's block.
func (c *cluster) voterBranch(tree *chain.Tree, upto chain.Slot, keys map[chain.Address]ed25519.PrivateKey,
	extra map[chain.Slot][]chain.Tx) []*chain.Block {
	c.t.Helper()
	var out []*chain.Block
	for s := tree.Head().Slot + 1; s <= upto; s++ {
		leader, ok := tree.Leader(s)
		key, mine := keys[leader]
		if !ok || !mine {
			if len(extra[s]) > 0 {
				extra[s+1] = append(extra[s+1], extra[s]...)
			}
			continue
		}
		body := chain.Body{Txs: extra[s], Votes: c.privateVotes(tree, s, keys)}
		b, bad, err := tree.ProposeBody(tree.Head().Hash, s, key, body)
		if err == nil && len(bad) > 0 {
			c.t.Fatalf("slot %d: transactions refused: %v", s, bad[0].Err)
		}
		if err == nil {
			_, err = tree.Insert(b, s)
		}
		if err != nil {
			c.t.Fatalf("slot %d: %v", s, err)
		}
		out = append(out, b)
	}
	return out
}

// TestNoticesOwnTransactions: a record and a stake submitted through the node are told committed (the stake with
// the epoch it counts from, chain.StakeLag), then final once a finalized checkpoint covers their block; the stake
// is told in force at that epoch's first slot; a transfer to the node's account is told received. The node does
// not run: the test imports the blocks and ticks the slots as its loop would.
func TestNoticesOwnTransactions(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30, 0}, time.Second, -time.Hour)
	now := c.gen.Time
	n := noticeNode(t, c, 3, &now)
	id := c.gen.Hash()
	record := bpmTx(c.keys[3], 0, id)
	stake := chain.Tx{Kind: chain.TxStake, From: n.self, Nonce: 1, Value: 100, Fee: 1}
	stake.Sign(id, c.keys[3])
	for _, tx := range []chain.Tx{record, stake} {
		if _, err := n.submit(tx); err != nil {
			t.Fatal(err)
		}
		n.release(tx, nil)
	}
	gift := chain.Tx{Kind: chain.TxTransfer, From: addrOf(c.keys[1]), Nonce: 0, To: n.self, Value: 1234, Fee: 1}
	gift.Sign(id, c.keys[1])
	keys := map[chain.Address]ed25519.PrivateKey{}
	for _, k := range c.keys[:3] {
		keys[addrOf(k)] = k
	}
	const upto = 40 // five epochs of 8 slots: epoch 1's checkpoint is finalized by epoch 3's votes
	blocks := c.voterBranch(testTree(t, c), upto, keys, map[chain.Slot][]chain.Tx{3: {record, stake}, 20: {gift}})
	var lines []string
	for _, b := range blocks {
		now = consensus.SlotStart(c.gen.Time, time.Second, b.Header.Slot)
		if err := n.importBlock(b); err != nil {
			t.Fatalf("import block of slot %d: %v", b.Header.Slot, err)
		}
		lines = append(lines, drain(n)...)
	}
	committed := findLine(t, lines, "the record committed", "committed: your record bpm 70", record.ID().Short())
	stakeLine := findLine(t, lines, "the stake committed", "committed: your stake 100", "counts in the stake table from epoch 3")
	final := findLine(t, lines, "the record final", "final: your record bpm 70", record.ID().Short())
	findLine(t, lines, "the transfer received", "received 1,234 tokens from "+addrOf(c.keys[1]).Short())
	if indexOf(lines, final) < indexOf(lines, committed) {
		t.Errorf("the record was told final before it was told committed:\n%s", strings.Join(lines, "\n"))
	}
	if _, fin := n.tree.Finality(); !n.tree.IsFinal(blocks[0].Hash()) || fin.Epoch == 0 {
		t.Fatalf("the branch finalized epoch %d; the test needs the first block final", fin.Epoch)
	}
	t.Logf("notices:\n%s\n%s\n%s", committed, stakeLine, final)

	n.noticeStakes(chain.Slot(3 * c.gen.EpochLength))
	inForce := findLine(t, drain(n), "the stake in force", "epoch 3: your stake 100", "is in force: stake 100 of 160")
	t.Log(inForce)
	if len(n.notes.own) != 0 || len(n.notes.stakes) != 0 {
		t.Errorf("still following %d transactions and %d stake changes, want none", len(n.notes.own), len(n.notes.stakes))
	}
}

// TestNoticesReorgReturnsOwnTransaction: a record committed in a block that a reorg replaces is told pending
// again, and committed again when the new branch holds it.
func TestNoticesReorgReturnsOwnTransaction(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 0}, time.Second, -time.Hour)
	now := c.gen.Time.Add(time.Hour)
	n := noticeNode(t, c, 2, &now)
	record := bpmTx(c.keys[2], 0, c.gen.Hash())
	if _, err := n.submit(record); err != nil {
		t.Fatal(err)
	}
	n.release(record, nil)
	branchA, branchB := testTree(t, c), testTree(t, c)
	if err := n.importBlock(c.propose(branchA, 1, record)); err != nil {
		t.Fatal(err)
	}
	findLine(t, drain(n), "the record committed", "committed: your record bpm 70")
	for _, b := range []*chain.Block{c.propose(branchB, 2), c.propose(branchB, 3)} {
		if err := n.importBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	findLine(t, drain(n), "the record returned", "reorg: your record bpm 70", "pending again")
	if err := n.importBlock(c.propose(branchB, 4, record)); err != nil {
		t.Fatal(err)
	}
	findLine(t, drain(n), "the record committed again", "committed: your record bpm 70", "block #3")
}

// TestNoticesFinalityStall: past view.StallEpochs without finality the prompt is told once, with the stake of the
// validators that cast no vote for the last epoch, named largest first; again after finality.StallRemind epochs; and once
// when finality is back within the bound.
func TestNoticesFinalityStall(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30, 40}, time.Second, -time.Hour)
	now := c.gen.Time.Add(time.Hour)
	n := noticeNode(t, c, 0, &now)
	const e = 6 // stalled: finalized epoch 0, current 6; the pool moves to epoch e
	n.ffg.Slot(chain.Slot(e*c.gen.EpochLength), n.tree)
	target := n.tree.Checkpoint(e - 1)
	for _, k := range []int{0, 2} { // 10 and 30 voted for epoch 5; 20 and 40 did not
		v := chain.Vote{Validator: addrOf(c.keys[k]), Target: target}
		v.Sign(c.gen.Hash(), c.keys[k])
		if _, err := n.ffg.Pool().AddVote(v); err != nil {
			t.Fatal(err)
		}
	}
	slot := chain.Slot(e * c.gen.EpochLength)
	n.noticeStall(slot)
	line := findLine(t, drain(n), "the stall", "FINALITY STALLED", "after epoch 0", "current epoch is 6",
		"silent in epoch 5: 60 of 100 stake (60.0%), 2 validator(s): "+addrOf(c.keys[3]).Short()+" (40), "+
			addrOf(c.keys[1]).Short()+" (20)")
	t.Log(line)
	n.noticeStall(slot + 1)
	if got := drain(n); len(got) != 0 {
		t.Errorf("told the same stall again within %d epochs: %q", finality.StallRemind, got)
	}
	n.noticeStall(slot + finality.StallRemind*chain.Slot(c.gen.EpochLength))
	findLine(t, drain(n), "the reminder", "FINALITY STALLED", "current epoch is 14")
	n.noticeStall(chain.Slot(3 * c.gen.EpochLength)) // the bound holds again
	findLine(t, drain(n), "the end of the stall", "finality resumed")
}

func indexOf(lines []string, l string) int {
	for i := range lines {
		if lines[i] == l {
			return i
		}
	}
	return -1
}
