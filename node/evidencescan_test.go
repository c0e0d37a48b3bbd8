package node

import (
	"crypto/ed25519"
	"slices"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/evidencefile"
)

// TestEvidenceOfADeepUnfinalBlockSurvivesARestart: the evidence of a canonical block above the finalized checkpoint
// stays in the evidence file across a restart however deep the block lies under the head (PROTOCOL.md §8b): a
// reorg can still revert it. The instance: finality stalls (no votes), a block holds a double vote, more than
// includedScan blocks follow, the node restarts.
func TestEvidenceOfADeepUnfinalBlockSurvivesARestart(t *testing.T) {
	const blocks = includedScan + 40
	c := newCluster(t, []uint64{10, 20, 30}, time.Second, -(blocks+60)*time.Second)
	n, err := New(Config{Home: c.homes[0], Genesis: c.gen})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[chain.Address]ed25519.PrivateKey{}
	for _, k := range c.keys {
		keys[chain.AddressOf(k.Public().(ed25519.PublicKey))] = k
	}
	found := signedDoubleVote(n.chainID, c.keys[1], 1)
	held := false
	for s := chain.Slot(c.gen.EpochLength * 2); n.tree.Head().Height < blocks; s++ {
		leader, ok := n.tree.Leader(s)
		if !ok {
			continue
		}
		var body chain.Body
		if !held {
			body.Evidence = []chain.Evidence{found}
		}
		b, _, err := n.tree.ProposeBody(n.tree.Head().Hash, s, keys[leader], body)
		if err == nil {
			_, err = n.tree.Insert(b, s)
		}
		if err == nil && n.tree.Unflushed() >= flushBlocks {
			err = n.tree.Flush()
		}
		if err != nil {
			t.Fatalf("slot %d: %v", s, err)
		}
		if !held && len(b.Evidence) == 0 {
			t.Fatal("the block left the evidence out")
		}
		held = true
	}
	if err := n.tree.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, fin := n.tree.Finality(); fin.Epoch != 0 {
		t.Fatalf("finalized epoch %d, want finality stalled at genesis", fin.Epoch)
	}
	n.closeStores()
	// What the node's file held before it stopped: the evidence of a block that is not final.
	f, _, err := evidencefile.Open(c.homes[0] + "/" + evidencefile.FileName)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write(1, []chain.Evidence{found}); err != nil {
		t.Fatal(err)
	}

	n, err = New(Config{Home: c.homes[0], Genesis: c.gen})
	if err != nil {
		t.Fatal(err)
	}
	defer n.closeStores()
	n.keepEvidence()
	if got := fileIDs(t, c.homes[0]); !slices.Equal(got, []chain.Hash{found.ID()}) {
		t.Fatalf("after the restart the file holds %v, want the evidence of the block %d deep, not final", got,
			blocks-1)
	}
}
