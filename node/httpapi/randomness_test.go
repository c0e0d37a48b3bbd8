package httpapi_test

import (
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
	"github.com/posnode/posnode/node/view"
)

// wireBlock is what GET /api/blocks/{id} says of a block's randomness, time and finality, read from the JSON as
// a client outside the node reads it.
type wireBlock struct {
	Hash      chain.Hash    `json:"hash"`
	Height    uint64        `json:"height"`
	Slot      uint64        `json:"slot"`
	Parent    chain.Hash    `json:"parent"`
	Proposer  chain.Address `json:"proposer"`
	Mix       string        `json:"mix"`
	VRFOutput string        `json:"vrf_output"`
	VRFProof  string        `json:"vrf_proof"`
	Time      string        `json:"time"`
	Finality  string        `json:"finality"`
}

// checkBeacon checks b as anyone outside the node can (PROTOCOL.md §6): its VRF proof verifies against its
// proposer's address for its slot, gives its VRF output, and the output chained onto the parent's mix gives its
// mix; its time is its slot's start (§2).
func checkBeacon(t *testing.T, n *apiNode, b, parent wireBlock) {
	t.Helper()
	proof, err := hex.DecodeString(b.VRFProof)
	if err != nil || len(proof) != chain.VRFProofSize {
		t.Fatalf("block %d: vrf_proof %q: want %d bytes of hex (%v)", b.Height, b.VRFProof, chain.VRFProofSize, err)
	}
	var p chain.VRFProof
	copy(p[:], proof)
	out, err := p.Verify(b.Proposer, n.ChainID(), chain.Slot(b.Slot))
	if err != nil {
		t.Fatalf("block %d: the proof does not verify against its proposer's key: %v", b.Height, err)
	}
	if got, want := b.VRFOutput, hex.EncodeToString(out[:]); got != want {
		t.Errorf("block %d: vrf_output %s, want the proof's output %s", b.Height, got, want)
	}
	var parentMix chain.Hash
	if err := parentMix.UnmarshalText([]byte(parent.Mix)); err != nil {
		t.Fatalf("block %d: mix %q: %v", parent.Height, parent.Mix, err)
	}
	if got, want := b.Mix, chain.NextMix(parentMix, out).String(); got != want {
		t.Errorf("block %d: mix %s, want SHA-256(parent's mix | vrf output) = %s", b.Height, got, want)
	}
	when, err := time.Parse(time.RFC3339, b.Time)
	want := consensus.SlotStart(n.gen.Time, time.Duration(n.gen.SlotDuration), chain.Slot(b.Slot))
	if err != nil || !when.Equal(want) {
		t.Errorf("block %d: time %q (%v), want the start of slot %d, %s", b.Height, b.Time, err, b.Slot, want.Format(time.RFC3339Nano))
	}
}

// The block API and the block page show each block's mix, VRF output and proof, time and finality state
// (PROTOCOL.md §6, §8a), so that anyone can check the beacon: the output is the proof's, the proof is the
// proposer's over the block's slot, and the mix chains onto the parent's.
func TestAPIBlockRandomness(t *testing.T) {
	n := startNode(t)
	get := func(id string) wireBlock {
		t.Helper()
		var b wireBlock
		if code := n.get(t, "/api/blocks/"+id, &b); code != 200 {
			t.Fatalf("GET /api/blocks/%s: %d", id, code)
		}
		return b
	}
	finalized := func() uint64 {
		t.Helper()
		var f view.Finality
		if code := n.get(t, "/api/finality", &f); code != 200 {
			t.Fatalf("GET /api/finality: %d", code)
		}
		return f.FinalizedHeight
	}

	g := get("0")
	if g.Finality != view.BlockFinal || g.VRFProof != "" || g.VRFOutput != "" ||
		g.Mix != chain.GenesisMix(n.ChainID()).String() {
		t.Errorf("genesis: %+v, want final, the genesis mix and no proof", g)
	}
	if when, err := time.Parse(time.RFC3339, g.Time); err != nil || !when.Equal(n.gen.Time) {
		t.Errorf("genesis: time %q, want the genesis time %s", g.Time, n.gen.Time)
	}

	// A lone validator finalizes its checkpoints: wait until a final block and a committed one above it are seen.
	var final, committed *wireBlock
	waitFor(t, 60*time.Second, "a final block and a committed block", func() bool {
		before := finalized()
		var st view.Status
		if n.get(t, "/api/status", &st) != 200 || st.Height == 0 {
			return false
		}
		for _, h := range []uint64{before, st.Height} {
			if h == 0 {
				continue
			}
			b := get(itoa(h))
			after := finalized()
			switch b.Finality {
			case view.BlockFinal:
				if b.Height > after {
					t.Fatalf("block %d is %q, but the finalized height is %d", b.Height, b.Finality, after)
				}
				final = &b
			case view.BlockCommitted:
				if b.Height <= before {
					t.Fatalf("block %d is %q, but the finalized height was %d already", b.Height, b.Finality, before)
				}
				committed = &b
			default:
				t.Fatalf("canonical block %d: finality %q, want final or committed", b.Height, b.Finality)
			}
		}
		return final != nil && committed != nil
	})
	for _, b := range []wireBlock{*final, *committed} {
		parent := get(itoa(b.Height - 1))
		if parent.Hash != b.Parent {
			t.Fatalf("block %d's parent is %s, block %d is %s", b.Height, b.Parent, parent.Height, parent.Hash)
		}
		checkBeacon(t, n, b, parent)
		if byHash := get(b.Hash.String()); byHash.VRFOutput != b.VRFOutput || byHash.Mix != b.Mix ||
			byHash.Time != b.Time || byHash.Finality == "" {
			t.Errorf("block %d by hash: %+v, by height: %+v", b.Height, byHash, b)
		}

		resp, err := http.Get("http://" + n.HTTPAddr() + "/block/" + b.Hash.String())
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`id="block-mix">` + b.Mix + "<", `id="block-vrf-output">` + b.VRFOutput + "<",
			`id="block-vrf-proof">` + b.VRFProof + "<", `id="block-time">` + b.Time + " ",
			`id="block-finality">` + b.Finality} {
			if resp.StatusCode != 200 || !strings.Contains(string(page), want) {
				t.Errorf("/block/%s: %d, lacks %s", b.Hash.Short(), resp.StatusCode, want)
			}
		}
	}
	t.Logf("checked final block %d and committed block %d", final.Height, committed.Height)
}
