package consensus

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// The generator of the conformance vectors: each scenario is written in Go against a builder that makes real,
// signed blocks with seeded keys on its own trees (Tree.ProposeBody, the real lottery), and records the steps and
// the checks the scenario states. The checks are the scenario's claims about PROTOCOL.md, not values read back
// from the builder: TestConformance then replays the files and holds the code to them.

// scenario is one case's description.
type scenario struct {
	name  string // file name: forkchoice_…, justification_…, finalization_…, slashing_…, weaksubj_…
	rules string // PROTOCOL.md sections
	desc  string
	build func(b *builder)
}

// allScenarios returns every scenario, in file-name groups.
func allScenarios() []scenario {
	var all []scenario
	for _, group := range [][]scenario{forkChoiceScenarios(), justificationScenarios(), finalizationScenarios(),
		slashingScenarios(), weakSubjectivityScenarios()} {
		all = append(all, group...)
	}
	return all
}

// TestConformanceVectors builds every scenario and compares it with its file in testdata/conformance, byte for
// byte; with -update it writes the files (and removes those of scenarios that no longer exist).
func TestConformanceVectors(t *testing.T) {
	want := map[string][]byte{}
	for _, sc := range allScenarios() {
		if _, dup := want[sc.name]; dup {
			t.Fatalf("two scenarios named %s", sc.name)
		}
		data, err := json.MarshalIndent(buildCase(t, sc), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want[sc.name] = append(data, '\n')
	}
	if *update {
		writeCases(t, want)
		return
	}
	paths, err := filepath.Glob(filepath.Join(conformanceDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if _, ok := want[strings.TrimSuffix(filepath.Base(p), ".json")]; !ok {
			t.Errorf("%s: no scenario makes it (regenerate with -update)", p)
		}
	}
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(conformanceDir, name+".json"))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: file differs from its scenario (regenerate with go test ./consensus -run Conformance -update)", name)
		}
	}
}

func writeCases(t *testing.T, cases map[string][]byte) {
	if err := os.MkdirAll(conformanceDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(conformanceDir, "*.json"))
	for _, p := range old {
		if _, ok := cases[strings.TrimSuffix(filepath.Base(p), ".json")]; !ok {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, data := range cases {
		if err := os.WriteFile(filepath.Join(conformanceDir, name+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// confStakes are the genesis stakes of validators v0…v5: v0 and v1 hold a third of the table each and v2 and v3
// a sixth (the table totals 90, so two thirds is exactly 60); v4 holds only a balance and v5 stakes below
// min_stake, so neither is in a stake table.
var confStakes = []chain.Amount{30, 30, 15, 15, 0, 5}

// confKey is validator i's key: ed25519.NewKeyFromSeed(SHA-256("posnode-conformance-key-i")).
func confKey(i int) ed25519.PrivateKey {
	seed := sha256.Sum256(fmt.Appendf(nil, "posnode-conformance-key-%d", i))
	return ed25519.NewKeyFromSeed(seed[:])
}

// confGenesis is every case's anchor: 1 s slots, epochs of 4 slots, min_stake 10.
func confGenesis() *chain.Genesis {
	g := &chain.Genesis{ChainID: "posnode-conformance", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		SlotDuration: chain.Duration(time.Second), EpochLength: 4, BlockReward: 10, MinStake: 10, TxFee: 1,
		SeedRule: chain.SeedRANDAO}
	for i, s := range confStakes {
		a := chain.AddressOf(confKey(i).Public().(ed25519.PublicKey))
		g.Allocations = append(g.Allocations, chain.Allocation{Address: a, Balance: 1000, Stake: s})
	}
	return g
}

// builder makes one case: blocks on its trees ("views", so that branches a tree would refuse can be built
// apart), and the steps.
type builder struct {
	t      testing.TB
	c      *vecCase
	g      *chain.Genesis
	id     chain.Hash
	keys   map[chain.Address]ed25519.PrivateKey
	vals   map[chain.Address]string
	views  map[string]*chain.Tree
	blocks map[string]*chain.Block
	names  map[chain.Hash]string
	now    uint64 // ms after genesis of the last tick
}

func buildCase(t testing.TB, sc scenario) *vecCase {
	g := confGenesis()
	b := &builder{t: t, g: g, id: g.Hash(), keys: map[chain.Address]ed25519.PrivateKey{},
		vals: map[chain.Address]string{}, views: map[string]*chain.Tree{}, blocks: map[string]*chain.Block{},
		names: map[chain.Hash]string{g.Hash(): "genesis"}}
	b.c = &vecCase{Name: sc.name, Description: sc.desc, Rules: sc.rules, Genesis: g,
		Validators: map[string]chain.Address{}, Blocks: map[string]chain.Hash{}}
	for i := range confStakes {
		k := confKey(i)
		a := chain.AddressOf(k.Public().(ed25519.PublicKey))
		name := fmt.Sprintf("v%d", i)
		b.keys[a], b.vals[a], b.c.Validators[name] = k, name, a
	}
	sc.build(b)
	return b.c
}

// view returns the builder's tree of that name, opened on first use.
func (b *builder) view(name string) *chain.Tree {
	if tr, ok := b.views[name]; ok {
		return tr
	}
	tr, err := chain.OpenTree(chain.TreeConfig{Genesis: b.g, Store: chain.NewMemStore(), Elect: Leader,
		Better: Better, Finality: FFGRules()})
	if err != nil {
		b.t.Fatal(err)
	}
	b.views[name] = tr
	return tr
}

func (b *builder) addr(v string) chain.Address {
	for a, n := range b.vals {
		if n == v {
			return a
		}
	}
	b.t.Fatalf("%s: no validator %s", b.c.Name, v)
	return chain.Address{}
}

func (b *builder) hash(name string) chain.Hash {
	if name == "genesis" {
		return b.id
	}
	blk, ok := b.blocks[name]
	if !ok {
		b.t.Fatalf("%s: no block %s", b.c.Name, name)
	}
	return blk.Hash()
}

// cp is the checkpoint of epoch e at block name.
func (b *builder) cp(e chain.Epoch, name string) chain.Checkpoint {
	return chain.Checkpoint{Epoch: e, Hash: b.hash(name)}
}

// vote is validator v's signed vote source → target.
func (b *builder) vote(v string, source, target chain.Checkpoint) chain.Vote {
	vt := chain.Vote{Validator: b.addr(v), Source: source, Target: target}
	vt.Sign(b.id, b.keys[vt.Validator])
	return vt
}

// votes are the votes of each named validator source → target.
func (b *builder) votes(source, target chain.Checkpoint, vs ...string) []chain.Vote {
	var out []chain.Vote
	for _, v := range vs {
		out = append(out, b.vote(v, source, target))
	}
	return out
}

// tx is a transaction of from to to (none when empty), signed, with the minimum fee.
func (b *builder) tx(from string, kind chain.TxKind, nonce chain.Nonce, to string, value uint64) chain.Tx {
	var recipient chain.Address // none for stake and unstake
	if to != "" {
		recipient = b.addr(to)
	}
	tx := chain.NewTx(kind, b.addr(from), nonce, recipient, value, b.g.TxFee)
	tx.Sign(b.id, b.keys[tx.From])
	return tx
}

// blockSpec is how a block is to be built; opts set it.
type blockSpec struct {
	view     string
	proposer string // a key other than the slot's leader
	txs      []chain.Tx
	votes    []chain.Vote
	evidence []chain.Evidence
	raw      bool               // put votes and evidence in as given, valid or not (else all must be picked)
	mutate   func(*chain.Block) // changes the built block, which is then signed again
	unsigned bool               // skip the signature after mutate
}

type opt func(*blockSpec)

func in(view string) opt             { return func(s *blockSpec) { s.view = view } }
func by(v string) opt                { return func(s *blockSpec) { s.proposer = v } }
func withTxs(txs ...chain.Tx) opt    { return func(s *blockSpec) { s.txs = txs } }
func withVotes(vs ...chain.Vote) opt { return func(s *blockSpec) { s.votes = append(s.votes, vs...) } }
func withEvidence(es ...chain.Evidence) opt {
	return func(s *blockSpec) { s.evidence = append(s.evidence, es...) }
}
func raw() opt                         { return func(s *blockSpec) { s.raw = true } }
func mutated(f func(*chain.Block)) opt { return func(s *blockSpec) { s.mutate = f } }
func unsigned() opt                    { return func(s *blockSpec) { s.unsigned = true } }

// block builds block name at slot on parent, proposed by the slot's leader on that parent unless by says
// otherwise, and adds it to its view (where a block the view refuses is simply not added).
func (b *builder) block(name, parent string, slot chain.Slot, opts ...opt) *chain.Block {
	b.t.Helper()
	sp := blockSpec{view: "main"}
	for _, o := range opts {
		o(&sp)
	}
	tr := b.view(sp.view)
	ph := b.hash(parent)
	var key ed25519.PrivateKey
	if sp.proposer != "" {
		key = b.keys[b.addr(sp.proposer)]
	} else {
		leader, ok, err := tr.LeaderOn(ph, slot)
		if err != nil || !ok {
			b.t.Fatalf("%s: block %s: no leader of slot %d on %s: %v", b.c.Name, name, slot, parent, err)
		}
		key = b.keys[leader]
	}
	body := chain.Body{Txs: sp.txs}
	if !sp.raw {
		body.Votes, body.Evidence = sp.votes, sp.evidence
	}
	blk, _, err := tr.ProposeBody(ph, slot, key, body)
	if err != nil {
		b.t.Fatalf("%s: block %s: %v", b.c.Name, name, err)
	}
	if !sp.raw && (len(blk.Votes) != len(sp.votes) || len(blk.Evidence) != len(sp.evidence) || len(blk.Txs) != len(sp.txs)) {
		b.t.Fatalf("%s: block %s: the proposer kept %d/%d votes, %d/%d evidence, %d/%d txs", b.c.Name, name,
			len(blk.Votes), len(sp.votes), len(blk.Evidence), len(sp.evidence), len(blk.Txs), len(sp.txs))
	}
	if sp.raw {
		blk.Votes, blk.Header.VoteRoot = sp.votes, chain.VoteRoot(sp.votes)
		blk.Evidence, blk.Header.EvRoot = sp.evidence, chain.EvidenceRoot(sp.evidence)
	}
	if sp.mutate != nil {
		sp.mutate(blk)
	}
	if (sp.raw || sp.mutate != nil) && !sp.unsigned {
		blk.Sign(b.id, key)
	}
	if _, dup := b.blocks[name]; dup {
		b.t.Fatalf("%s: two blocks named %s", b.c.Name, name)
	}
	if other, dup := b.names[blk.Hash()]; dup {
		b.t.Fatalf("%s: blocks %s and %s are the same block", b.c.Name, other, name)
	}
	b.blocks[name], b.names[blk.Hash()], b.c.Blocks[name] = blk, name, blk.Hash()
	_, _ = tr.Insert(blk, chain.Slot(math.MaxUint64)) // a block the view refuses is only a step's input
	return blk
}

// chain builds blocks prefix+slot on every slot from first to last, each on the one before, starting on parent,
// and returns the last one's name.
func (b *builder) chain(prefix, parent string, first, last chain.Slot, opts ...opt) string {
	for s := first; s <= last; s++ {
		name := fmt.Sprintf("%s%d", prefix, s)
		b.block(name, parent, s, opts...)
		parent = name
	}
	return parent
}

// share adds blocks already built to another view.
func (b *builder) share(view string, names ...string) {
	tr := b.view(view)
	for _, n := range names {
		if _, err := tr.Insert(b.blocks[n], chain.Slot(math.MaxUint64)); err != nil {
			b.t.Fatalf("%s: share %s with %s: %v", b.c.Name, n, view, err)
		}
	}
}
