package light

import (
	"errors"
	"testing"

	"github.com/posnode/posnode/chain"
)

// TestVerifyFollows: from genesis, the link 0 → 1 justifies epoch 1 and finalizes genesis; 1 → 2 then
// finalizes epoch 1, and the update survives its encoding.
func TestVerifyFollows(t *testing.T) {
	f := newFixture(t, 4)
	tr := GenesisTrust(f.g)
	u1 := f.update(t, f.genesisCheckpoint(), 1, 3)
	tr, err := Verify(f.g.Hash(), testEpochLength, tr, &u1)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Justified.Checkpoint != u1.Target || tr.Finalized.Checkpoint != f.genesisCheckpoint() {
		t.Fatalf("after 0 → 1: justified %s, finalized %s", tr.Justified.Checkpoint, tr.Finalized.Checkpoint)
	}
	// The next table is proven by the header just trusted; the fixture's headers all carry the genesis root.
	u2 := f.update(t, u1.Target, 2, 4)
	dec, err := DecodeUpdate(u2.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if tr, err = Verify(f.g.Hash(), testEpochLength, tr, &dec); err != nil {
		t.Fatal(err)
	}
	if tr.Finalized.Checkpoint != u1.Target || tr.Finalized.Height != u1.Header.Height {
		t.Errorf("after 1 → 2: finalized %+v, want %s", tr.Finalized, u1.Target)
	}
}

// TestVerifyCatchesLies: each way a server can lie about finality is caught with its error.
func TestVerifyCatchesLies(t *testing.T) {
	f := newFixture(t, 4)
	tr := GenesisTrust(f.g)
	good := f.update(t, f.genesisCheckpoint(), 1, 3)
	other := newFixtureOf(t, "stranger", 4) // other validators: a wrong table
	wrongTable := other.update(t, f.genesisCheckpoint(), 1, 4)
	cases := map[string]struct {
		u    Update
		want error
	}{
		"below two thirds": {f.update(t, f.genesisCheckpoint(), 1, 2), ErrNoSupermajority},
		"wrong table":      {wrongTable, ErrWrongTable},
		"other source":     {f.update(t, chain.Checkpoint{Epoch: 0, Hash: chain.Hash{9}}, 1, 3), ErrWrongSource},
	}
	forged := cloneUpdate(good)
	forged.Header.Height++ // the votes name the real block
	cases["header not the target"] = struct {
		u    Update
		want error
	}{forged, ErrBadHeader}
	badSig := cloneUpdate(good)
	badSig.Votes[1].Sig[0] ^= 1
	cases["bad signature"] = struct {
		u    Update
		want error
	}{badSig, ErrBadVote}
	skip := cloneUpdate(good)
	skip.Anchor = AnchorTarget
	skip.Votes = skip.Votes[:0]
	cases["skip without votes"] = struct {
		u    Update
		want error
	}{skip, ErrNoSupermajority}
	for name, c := range cases {
		if _, err := Verify(f.g.Hash(), testEpochLength, tr, &c.u); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	if _, err := Verify(f.g.Hash(), testEpochLength, tr, &good); err != nil {
		t.Errorf("the honest update: %v", err)
	}
}

// TestVerifySkip: a skip (the table proven by the target's own header) needs a third of the trusted table's
// stake among its voters; the voters of another network's table have none of it.
func TestVerifySkip(t *testing.T) {
	f := newFixture(t, 6)
	tr := GenesisTrust(f.g)
	u := f.update(t, f.genesisCheckpoint(), 1, 4)
	u.Anchor = AnchorTarget // the fixture's header carries the genesis state root, which proves the same table
	if _, err := Verify(f.g.Hash(), testEpochLength, tr, &u); err != nil {
		t.Fatalf("a skip signed by the trusted validators: %v", err)
	}
	other := newFixtureOf(t, "stranger", 6)
	other.chainID = f.g.Hash()
	strange := other.update(t, f.genesisCheckpoint(), 1, 6)
	strange.Anchor = AnchorTarget
	if _, err := Verify(f.g.Hash(), testEpochLength, tr, &strange); !errors.Is(err, ErrNoSupermajority) {
		t.Errorf("a skip by strangers: got %v, want ErrNoSupermajority", err)
	}
}

// TestCheckpointTrust: a header is trusted for a checkpoint only when its hash is the checkpoint's.
func TestCheckpointTrust(t *testing.T) {
	f := newFixture(t, 4)
	h := f.header(3, f.st.Root())
	c := chain.Checkpoint{Epoch: 3, Hash: h.Hash()}
	tr, err := CheckpointTrust(c, h)
	if err != nil || tr.Justified.StateRoot != h.StateRoot || tr.Finalized.Checkpoint != c {
		t.Fatalf("got %+v, %v", tr, err)
	}
	h.Height++
	if _, err := CheckpointTrust(c, h); !errors.Is(err, ErrBadHeader) {
		t.Errorf("another header: got %v, want ErrBadHeader", err)
	}
}
