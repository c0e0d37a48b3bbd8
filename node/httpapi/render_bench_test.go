package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// pageBackend answers the front page's questions about a 4-validator network two epochs of 32 slots in, whose
// blocks hold 3 records each, with 3 peers.
type pageBackend struct {
	Backend
	vals   []view.Validator
	blocks []view.Block
	slots  []view.Slot
}

func newPageBackend() *pageBackend {
	b := &pageBackend{}
	for i := range 4 {
		b.vals = append(b.vals, view.Validator{Address: chain.Address{byte(i + 1)}, Stake: uint64(10 * (i + 1))})
	}
	for s := range uint64(300) {
		blk := view.Block{Hash: chain.Hash{byte(s), byte(s >> 8)}, Height: s, Slot: s, Proposer: b.vals[s%4].Address}
		if s > 0 {
			blk.Parent = b.blocks[s-1].Hash
		}
		for k := range 3 {
			blk.Txs = append(blk.Txs, view.Tx{ID: chain.Hash{byte(s), byte(k)}, Kind: "bpm", From: b.vals[k].Address, Value: 70})
		}
		b.blocks = append(b.blocks, blk)
	}
	for s := uint64(256); s < 320; s++ {
		sl := view.Slot{Slot: s, Epoch: s / 32, State: view.SlotUpcoming, Leader: b.vals[s%4].Address}
		if s < 300 {
			h := b.blocks[s].Hash
			sl.State, sl.Block, sl.Height = view.SlotProposed, &h, s
		}
		b.slots = append(b.slots, sl)
	}
	return b
}

func (b *pageBackend) Status(context.Context) (view.Status, error) {
	head := b.blocks[len(b.blocks)-1]
	return view.Status{ChainID: "bench", Height: head.Height, Head: head.Hash, HeadSlot: head.Slot, Slot: head.Slot, Epoch: head.Slot / 32, Peers: 3}, nil
}

func (b *pageBackend) Blocks(_ context.Context, from, to uint64) ([]view.Block, error) {
	return b.blocks[from : to+1], nil
}

func (b *pageBackend) Validators(context.Context) (uint64, []view.Validator, error) {
	return 9, b.vals, nil
}

func (b *pageBackend) Slots(context.Context, uint64, uint64) ([]view.Slot, error) {
	return b.slots, nil
}

func (b *pageBackend) Mempool(context.Context) (view.Mempool, error) { return view.Mempool{}, nil }

func (b *pageBackend) Finality(context.Context) (view.Finality, error) {
	return view.Finality{Justified: chain.Checkpoint{Epoch: 8, Hash: b.blocks[256].Hash},
		Finalized: chain.Checkpoint{Epoch: 7, Hash: b.blocks[224].Hash}, FinalizedHeight: 224, LagSlots: 76}, nil
}

func (b *pageBackend) Evidence(context.Context) ([]view.Evidence, error) { return nil, nil }

func (b *pageBackend) Peers() []view.Peer {
	p := view.Peer{ID: chain.Address{9}.String(), Addr: "/ip4/127.0.0.1/tcp/4001", Direction: "inbound"}
	return []view.Peer{p, p, p}
}

// BenchmarkFrontPage measures what an open explorer page costs its node on each head, apart from the backend's own
// answers: one GET /?part=main, as the page's script sends it.
func BenchmarkFrontPage(b *testing.B) {
	s := &Server{cfg: Config{Backend: newPageBackend()}}
	req := httptest.NewRequest(http.MethodGet, "/?part=main", nil)
	for b.Loop() {
		w := httptest.NewRecorder()
		s.getExplorer(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
