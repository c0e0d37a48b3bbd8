package sim

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/posnode/posnode/chain"
)

var update = flag.Bool("update", false, "rewrite testdata/leaders.json")

// goldenLeaders pins, under both seed rules, the lottery winner, block hash and mix of every slot of a chain
// where every winner proposes: 40 slots of 8-slot epochs, so that randao's seeds come from mixes of earlier
// epochs (PROTOCOL.md §6). Any change to the seed rules, the mix, the VRF or the lottery changes a vector.
const goldenLeaders = "testdata/leaders.json"

type leaderVector struct {
	Slot   chain.Slot    `json:"slot"`
	Leader chain.Address `json:"leader"`
	Hash   chain.Hash    `json:"hash"`
	Mix    chain.Hash    `json:"mix"`
}

func computeLeaders(t *testing.T, rule chain.SeedRule) []leaderVector {
	w, err := newWorld(rule, 250, 8, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := w.openTree()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[chain.Address]bool{w.advID: true}
	for a := range w.honest {
		keys[a] = true
	}
	var out []leaderVector
	for s := chain.Slot(1); s <= 40; s++ {
		leader, ok := tr.Leader(s)
		if !ok || !keys[leader] {
			t.Fatalf("slot %d: leader %s is not a validator", s, leader.Short())
		}
		key := w.adv
		if leader != w.advID {
			key = w.honest[leader]
		}
		b, _, err := tr.Propose(s, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Insert(b, s); err != nil {
			t.Fatalf("slot %d: %v", s, err)
		}
		out = append(out, leaderVector{Slot: s, Leader: leader, Hash: b.Hash(), Mix: b.Header.Mix})
	}
	return out
}

func TestGoldenLeaders(t *testing.T) {
	got := map[chain.SeedRule][]leaderVector{}
	for _, rule := range []chain.SeedRule{chain.SeedRANDAO, chain.SeedParentHash} {
		got[rule] = computeLeaders(t, rule)
	}
	if *update {
		data, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(goldenLeaders), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenLeaders, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(goldenLeaders)
	if err != nil {
		t.Fatalf("%v (generate with -update)", err)
	}
	var want map[chain.SeedRule][]leaderVector
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	for rule, vs := range got {
		if len(want[rule]) != len(vs) {
			t.Fatalf("%s: %d vectors stored, %d computed", rule, len(want[rule]), len(vs))
		}
		for i, v := range vs {
			if w := want[rule][i]; w != v {
				t.Errorf("%s slot %d CHANGED:\n got %s\nwant %s", rule, v.Slot, show(v), show(w))
			}
		}
	}
	if want[chain.SeedRANDAO][0] == want[chain.SeedParentHash][0] {
		t.Error("the two rules gave the same first block, want different genesis hashes")
	}
}

func show(v leaderVector) string {
	return fmt.Sprintf("leader %s hash %s mix %s", v.Leader, v.Hash, v.Mix)
}
