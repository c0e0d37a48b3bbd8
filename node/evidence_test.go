package node

import (
	"crypto/ed25519"
	"crypto/sha256"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/chaintest"
	"github.com/posnode/posnode/node/evidencefile"
	"github.com/posnode/posnode/node/votepool"
)

// signedDoubleVote is key's double vote for target epoch e on network chainID.
func signedDoubleVote(chainID chain.Hash, key ed25519.PrivateKey, e chain.Epoch) chain.Evidence {
	vote := func(tag byte) chain.Vote {
		v := chain.Vote{Validator: chain.AddressOf(key.Public().(ed25519.PublicKey)),
			Source: chaintest.Checkpoint(e-1, 0), Target: chaintest.Checkpoint(e, tag)}
		v.Sign(chainID, key)
		return v
	}
	return chain.NewDoubleVote(vote(0), vote(1))
}

func pendingIDs(n *Node) []chain.Hash {
	var out []chain.Hash
	for _, e := range n.ffg.Pool().Evidence() {
		out = append(out, e.ID())
	}
	return out
}

// fileIDs returns the IDs of what the evidence file in home holds, sorted.
func fileIDs(t *testing.T, home string) []chain.Hash {
	t.Helper()
	_, set, err := evidencefile.Open(filepath.Join(home, evidencefile.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var out []chain.Hash
	for _, e := range set {
		out = append(out, e.ID())
	}
	slices.SortFunc(out, compareHashes)
	return out
}

// TestEvidenceSurvivesACrash: evidence a node holds and no finalized block holds is in its evidence file and back
// in its pool after a crash (PROTOCOL.md §8b), each restored piece judged as one from a peer; it leaves the file
// once a finalized block holds it. The instance: a simulated offender sent each of its two votes to different
// nodes, the one node that found the double vote crashed before a block held the evidence, and the offence went
// unpunished (docs/SIMULATION.md, seed 16 of the equivocate/withhold mix).
func TestEvidenceSurvivesACrash(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30}, time.Second, -time.Hour)
	open := func() *Node {
		t.Helper()
		n, err := New(Config{Home: c.homes[0], Genesis: c.gen})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := open()
	now := n.epochNow()
	found := signedDoubleVote(n.chainID, c.keys[1], now-1)
	if err := n.admitEvidence(found); err != nil {
		t.Fatal(err)
	}
	n.keepEvidence()
	n.closeStores() // a crash: nothing is flushed or written at the end
	if got := fileIDs(t, c.homes[0]); !slices.Equal(got, []chain.Hash{found.ID()}) {
		t.Fatalf("the evidence file holds %v, want the evidence found before the crash", got)
	}

	// Beside it, pieces a start must judge: a forged one, and one against a key the head cannot punish yet.
	seed := sha256.Sum256([]byte(t.Name() + "-stranger"))
	stranger := ed25519.NewKeyFromSeed(seed[:])
	later := signedDoubleVote(n.chainID, stranger, now-1) // the head (genesis) is in epoch 0: it may stake later
	forged := signedDoubleVote(n.chainID, c.keys[2], now-1)
	forged.VoteB.Sig[0] ^= 1
	f, _, err := evidencefile.Open(filepath.Join(c.homes[0], evidencefile.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write(1, []chain.Evidence{found, later, forged}); err != nil {
		t.Fatal(err)
	}

	n = open()
	if got := pendingIDs(n); !slices.Equal(got, []chain.Hash{found.ID()}) {
		t.Fatalf("after the restart the pool holds %v, want the evidence found before the crash", got)
	}
	if len(n.evidence.waiting) != 1 || n.evidence.waiting[0].ID() != later.ID() {
		t.Fatalf("waiting for the head: %d pieces, want the stranger's", len(n.evidence.waiting))
	}
	want := []chain.Hash{found.ID(), later.ID()}
	slices.SortFunc(want, compareHashes)
	n.keepEvidence()
	if got := fileIDs(t, c.homes[0]); !slices.Equal(got, want) {
		t.Fatalf("after the restart the file holds %v, want %v: the forged piece gone, the waiting one kept", got, want)
	}

	// A finalized block (genesis here) holds the evidence: it leaves the file.
	n.ffg.Pool().Include(votepool.Included{Evidence: found, Block: c.gen.Hash(), Height: 0})
	n.keepEvidence()
	if got := fileIDs(t, c.homes[0]); !slices.Equal(got, []chain.Hash{later.ID()}) {
		t.Fatalf("once a finalized block holds it the file holds %v, want only the waiting piece", got)
	}
	n.closeStores()
}
