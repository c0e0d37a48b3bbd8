package chain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// goldenPath holds the consensus-critical vectors. Any change to an encoding, hash or signing rule
// changes a vector and fails TestGolden; regenerate deliberately with
//
//	go test ./chain -run Golden -update
const goldenPath = "testdata/golden.json"

type goldenVector struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type goldenFile struct {
	About   string         `json:"about"`
	Genesis *Genesis       `json:"genesis"`
	Vectors []goldenVector `json:"vectors"`
}

// goldenTxs returns one signed transaction of each kind on the test genesis.
func goldenTxs(chainID Hash) []Tx {
	return []Tx{
		signedTx(chainID, 0, TxTransfer, 0, testAddr(1), 250, 1),
		signedTx(chainID, 3, TxStake, 0, Address{}, 50, 2),
		signedTx(chainID, 1, TxUnstake, 0, Address{}, 400, 1),
		signedTx(chainID, 2, TxBPM, 0, Address{}, 72, 1),
	}
}

// goldenBlock returns block 1 of the test genesis at slot 3, proposed by key 2, holding goldenTxs.
func goldenBlock(t testing.TB) *Block {
	g := testGenesis()
	return buildBlock(t, g.Hash(), g.Tip(), g.State(), 3, 2, goldenTxs(g.Hash()))
}

func computeGolden(t *testing.T) goldenFile {
	g := testGenesis()
	chainID := g.Hash()
	var vs []goldenVector
	add := func(name string, b []byte) { vs = append(vs, goldenVector{name, hex.EncodeToString(b)}) }
	for i := range 4 {
		pub := testAddr(i)
		add(fmt.Sprintf("key-%d/public_key", i), pub[:])
		vs = append(vs, goldenVector{fmt.Sprintf("key-%d/peer_id", i), pub.String()})
	}
	add("genesis/hash", chainID[:])
	mix := GenesisMix(chainID)
	add("genesis/mix", mix[:])
	root := g.State().Root()
	add("genesis/state_root", root[:])
	for i, tx := range goldenTxs(chainID) {
		p := fmt.Sprintf("tx-%d-%s/", i, tx.Kind)
		id := tx.ID()
		add(p+"encoding", tx.Encode())
		add(p+"signing_bytes", tx.SigningBytes(chainID))
		add(p+"id", id[:])
		add(p+"signature", tx.Sig[:])
	}
	b := goldenBlock(t)
	h := b.Hash()
	add("block/tx_root", b.Header.TxRoot[:])
	add("block/state_root", b.Header.StateRoot[:])
	add("block/vrf_input", VRFInput(chainID, b.Header.Slot))
	add("block/vrf_proof", b.Header.VRFProof[:])
	out, err := b.Header.VRFProof.Output()
	if err != nil {
		t.Fatal(err)
	}
	add("block/vrf_output", out[:])
	add("block/mix", b.Header.Mix[:])
	add("block/header", b.Header.Encode())
	add("block/signing_bytes", b.SigningBytes(chainID))
	add("block/hash", h[:])
	add("block/signature", b.Sig[:])
	add("block/encoding", b.Encode())
	v := sampleVote(chainID, 1, 2, 3)
	vroot, vid := v.Root(), v.ID()
	add("vote/encoding", v.Encode())
	add("vote/signing_bytes", v.SigningBytes(chainID))
	add("vote/root", vroot[:])
	add("vote/id", vid[:])
	dv := NewDoubleVote(sampleVote(chainID, 1, 0, 2), sampleVote(chainID, 1, 1, 2))
	add("evidence-double-vote/encoding", dv.Encode())
	other := goldenBlock(t)
	other.Header.StateRoot[0] ^= 1
	other.Sign(chainID, testKey(2))
	dp := NewDoubleProposal(b, other)
	add("evidence-double-proposal/encoding", dp.Encode())
	evRoot, voteRoot := EvidenceRoot([]Evidence{dv, dp}), VoteRoot([]Vote{v})
	add("votes/root", voteRoot[:])
	add("evidence/root", evRoot[:])
	addProofs(t, add, b)
	for i, root := range stakeLagRoots(t, g) {
		add(fmt.Sprintf("stake-lag/state_root-after-slot-%d", stakeLagSlots[i]), root[:])
	}
	return goldenFile{
		About:   "keys: ed25519.NewKeyFromSeed(SHA-256(\"key-i\")); tx-i and block are built on this genesis; hex unless a peer ID",
		Genesis: g,
		Vectors: vs,
	}
}

// addProofs adds the vectors of PROTOCOL.md §4a: the inclusion proof of the golden block's transaction 2, and
// after the block the state's sub-roots, the proof of proposer 2's account and of the stake table of epoch 2.
func addProofs(t *testing.T, add func(string, []byte), b *Block) {
	tp, err := TxProof(b.Txs, 2)
	if err != nil {
		t.Fatal(err)
	}
	add("proof/tx-2", tp.Encode())
	s := provenState(t)
	_, leaves := s.accountLeaves()
	accountsRoot, tablesRoot := merkleRoot(accountsDomain, leaves), s.tablesRoot()
	add("proof/accounts_root", accountsRoot[:])
	add("proof/tables_root", tablesRoot[:])
	ap, err := s.AccountProof(testAddr(2))
	if err != nil {
		t.Fatal(err)
	}
	add("proof/account-key-2", ap.Encode())
	_, sp, err := s.StakeTableProof(2)
	if err != nil {
		t.Fatal(err)
	}
	add("proof/stake-table-epoch-2", sp.Encode())
}

var stakeLagSlots = []Slot{10, 20, 30, 60}

// stakeLagRoots pins the stake-table lag (PROTOCOL.md §6): the ledger applies the golden block's stake and
// unstake in epoch 0, then one empty block in each of epochs 1 to 3 and one after two skipped epochs; the state
// root after each covers the tables of its epoch and the two after it. It returns the roots in the order of
// stakeLagSlots, the slots of the empty blocks.
func stakeLagRoots(t *testing.T, g *Genesis) []Hash {
	s := g.State()
	if err := s.ApplyBlock(goldenBlock(t)); err != nil {
		t.Fatal(err)
	}
	var roots []Hash
	for _, slot := range stakeLagSlots {
		if err := s.ApplyBlock(&Block{Header: Header{Slot: slot, Proposer: testAddr(0)}}); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, s.Root())
	}
	return roots
}

func TestGolden(t *testing.T) {
	got := computeGolden(t)
	if *update {
		data, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", goldenPath)
		return
	}
	data, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (generate with -update)", err)
	}
	var want goldenFile
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("%s: %v", goldenPath, err)
	}
	if want.Genesis == nil || want.Genesis.Hash() != got.Genesis.Hash() {
		t.Errorf("golden genesis differs from the test genesis")
	}
	stored := map[string]string{}
	for _, v := range want.Vectors {
		stored[v.Name] = v.Value
	}
	for _, v := range got.Vectors {
		w, ok := stored[v.Name]
		switch {
		case !ok:
			t.Errorf("vector %s: missing from %s", v.Name, goldenPath)
		case w != v.Value:
			t.Errorf("vector %s CHANGED:\n got %s\nwant %s", v.Name, v.Value, w)
		}
		delete(stored, v.Name)
	}
	for name := range stored {
		t.Errorf("vector %s: in %s but no longer computed", name, goldenPath)
	}
}

// fuzzSeeds returns the seed inputs of FuzzDecodeTx and FuzzDecodeBlock: valid encodings plus
// mutations that hit each decoding error.
func fuzzSeeds(t testing.TB) (txSeeds, blockSeeds map[string][]byte) {
	chainID := testGenesis().Hash()
	txSeeds = map[string][]byte{}
	for i, tx := range goldenTxs(chainID) {
		txSeeds[fmt.Sprintf("valid-%s", tx.Kind)] = tx.Encode()
		if i == 0 {
			enc := tx.Encode()
			txSeeds["short"] = enc[:TxSize-1]
			txSeeds["trailing"] = append(bytes.Clone(enc), 0)
			bad := bytes.Clone(enc)
			bad[0] = 5
			txSeeds["kind-5"] = bad
		}
	}
	txSeeds["empty"] = []byte{}
	txSeeds["zeros"] = make([]byte, TxSize)

	blockSeeds = map[string][]byte{}
	b := goldenBlock(t)
	enc := b.Encode()
	blockSeeds["valid-4-txs"] = enc
	empty := &Block{Header: b.Header}
	blockSeeds["valid-0-txs"] = empty.Encode()
	mut := func(name string, f func([]byte) []byte) { blockSeeds[name] = f(bytes.Clone(enc)) }
	mut("version-1", func(b []byte) []byte { b[0] = 1; return b })
	mut("header-truncated", func(b []byte) []byte { return b[:1+HeaderSize-40] })
	mut("ntx-huge", func(b []byte) []byte { b[1+HeaderSize] = 0xff; return b })
	mut("ntx-5", func(b []byte) []byte { b[1+HeaderSize+3] = 5; return b })
	mut("ntx-3", func(b []byte) []byte { b[1+HeaderSize+3] = 3; return b })
	mut("bad-tx-kind", func(b []byte) []byte { b[1+HeaderSize+4] = 0; return b })
	mut("truncated", func(b []byte) []byte { return b[:len(b)-1] })
	mut("trailing", func(b []byte) []byte { return append(b, 1) })
	blockSeeds["empty"] = []byte{}
	return txSeeds, blockSeeds
}

// TestGoldenFuzzCorpus keeps the checked-in seed corpus of the fuzz tests in step with fuzzSeeds;
// -update rewrites it.
func TestGoldenFuzzCorpus(t *testing.T) {
	txSeeds, blockSeeds := fuzzSeeds(t)
	for target, seeds := range map[string]map[string][]byte{"FuzzDecodeTx": txSeeds, "FuzzDecodeBlock": blockSeeds} {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, in := range seeds {
			path := filepath.Join(dir, "seed-"+name)
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", in)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("fuzz seed %s is missing or CHANGED (regenerate with -update)", path)
			}
		}
	}
}
