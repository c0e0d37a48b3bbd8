package blocksync

import (
	"errors"
	"fmt"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// fakeChain is a tree of one head, the blocks it holds and its sync floor.
type fakeChain struct {
	head  chain.Tip
	has   map[chain.Hash]bool
	floor chain.Height
}

func (c fakeChain) Head() chain.Tip         { return c.head }
func (c fakeChain) Has(h chain.Hash) bool   { return c.has[h] }
func (c fakeChain) SyncFloor() chain.Height { return c.floor }

var genesis = chain.Hash{0x99}

func TestRunOnStatus(t *testing.T) {
	ours := fakeChain{head: chain.Tip{Hash: chain.Hash{1}, Height: 10, Justified: 2, Timely: true},
		has: map[chain.Hash]bool{{1}: true, {7}: true}}
	tests := []struct {
		name     string
		resp     []byte
		err      error
		kind     Kind
		wantErr  error
		from     chain.Height
		count    uint32
		fetching bool
	}{
		{"request failed", nil, p2p.ErrClosed, Done, p2p.ErrClosed, 0, 0, false},
		{"undecodable", []byte{1, 2}, nil, Done, ErrBadMessage, 0, 0, false},
		{"another genesis", Status{Head: chain.Hash{5}}.Encode(), nil, Done, ErrForeignChain, 0, 0, false},
		{"lower", Status{Head: chain.Hash{2}, Height: 9, Justified: 2}.Encode(), nil, UpToDate, nil, 0, 0, false},
		{"a head we hold", Status{Head: chain.Hash{7}, Height: 12, Justified: 2}.Encode(), nil, UpToDate, nil, 0, 0, false},
		{"same height", Status{Head: chain.Hash{3}, Height: 10, Justified: 2}.Encode(), nil, UpToDate, nil, 0, 0, false},
		// Our timely head does not outweigh a peer's head one block higher: a better head by height is fetched.
		{"one higher, ours timely", Status{Head: chain.Hash{3}, Height: 11, Justified: 2}.Encode(), nil, Ask, nil, 11, 1, true},
		{"higher", Status{Head: chain.Hash{3}, Height: 15, Justified: 2}.Encode(), nil, Ask, nil, 11, 5, true},
		{"far higher", Status{Head: chain.Hash{3}, Height: 1000, Justified: 2}.Encode(), nil, Ask, nil, 11, MaxRangeBlocks, true},
		{"lower but justified later", Status{Head: chain.Hash{3}, Height: 8, Justified: 3}.Encode(), nil, Ask, nil, 8, 1, true},
	}
	for _, tt := range tests {
		r := NewRun("p")
		_, d := r.OnStatus(tt.resp, tt.err, genesis, ours)
		if d.Kind != tt.kind || !errors.Is(d.Err, tt.wantErr) || (tt.wantErr == nil) != (d.Err == nil) {
			t.Errorf("%s: got kind %d, err %v; want kind %d, err %v", tt.name, d.Kind, d.Err, tt.kind, tt.wantErr)
			continue
		}
		if d.Req.From != tt.from || d.Req.Count != tt.count || r.Fetched() != tt.fetching {
			t.Errorf("%s: got request %+v, fetched %v; want from %d count %d, fetched %v", tt.name, d.Req,
				r.Fetched(), tt.from, tt.count, tt.fetching)
		}
	}
}

// fetching returns a run past its status: the peer's head at height top, ours at height 4.
func fetching(t *testing.T, top chain.Height) (*Run, Decision) {
	t.Helper()
	r := NewRun("p")
	c := fakeChain{head: chain.Tip{Hash: chain.Hash{1}, Height: 4}}
	_, d := r.OnStatus(Status{Head: chain.Hash{3}, Height: top}.Encode(), nil, genesis, c)
	if d.Kind != Ask {
		t.Fatalf("status of a better head: got kind %d, want Ask", d.Kind)
	}
	return &r, d
}

func TestRunOnRange(t *testing.T) {
	r, d := fetching(t, 7)
	good := chainOf(chain.Hash{1}, 5, 3)
	for i := range RateLimitRetries {
		if got := r.OnRange(d.Req, nil, fmt.Errorf("blocks: %w", p2p.ErrRateLimited)); got.Kind != Retry {
			t.Fatalf("rate limited %d: got kind %d, want Retry", i+1, got.Kind)
		}
	}
	if got := r.OnRange(d.Req, nil, p2p.ErrRateLimited); got.Kind != Done || Penalty(got.Err) != 0 {
		t.Fatalf("rate limited once too often: got kind %d, %v; want Done at no cost", got.Kind, got.Err)
	}
	r, d = fetching(t, 7)
	tests := []struct {
		name    string
		resp    []byte
		kind    Kind
		wantErr error
	}{
		{"the range", encode(good), Import, nil},
		{"nothing", EncodeBlocks(nil), Done, ErrUndelivered},
		{"starts late", encode(good[1:]), Done, ErrBadRange},
		{"garbage", []byte{7}, Done, ErrBadMessage},
		{"pruned", EncodePruned(100), Done, ErrPrunedRange},
	}
	for _, tt := range tests {
		blocks, err := ReadRange(d.Req, tt.resp, nil)
		got := r.OnRange(d.Req, blocks, err)
		if got.Kind != tt.kind || !errors.Is(got.Err, tt.wantErr) || (tt.wantErr == nil) != (got.Err == nil) {
			t.Errorf("%s: got kind %d, %v; want kind %d, %v", tt.name, got.Kind, got.Err, tt.kind, tt.wantErr)
		}
	}
}

func encode(blocks []*chain.Block) []byte {
	enc := make([][]byte, len(blocks))
	for i, b := range blocks {
		enc[i] = b.Encode()
	}
	return EncodeBlocks(enc)
}

// A run steps back, doubling, while the blocks do not join ours, and gives up at the sync floor.
func TestRunStepsBack(t *testing.T) {
	r, d := fetching(t, 20)
	c := fakeChain{floor: 2}
	var froms []chain.Height
	for d.Kind == Ask {
		froms = append(froms, d.Req.From)
		d = r.OnImport(chainOf(chain.Hash{8}, d.Req.From, 1), true, 0, nil, c)
	}
	want := []chain.Height{5, 4, 2}
	if fmt.Sprint(froms) != fmt.Sprint(want) || !errors.Is(d.Err, ErrForeignChain) {
		t.Errorf("got requests from %v, then %v; want from %v, then ErrForeignChain", froms, d.Err, want)
	}
}

// A run asks for the next blocks after each import, ends when it reached the target, and blames a peer whose
// whole sync imported nothing.
func TestRunImportsToTheTarget(t *testing.T) {
	r, d := fetching(t, 7)
	c := fakeChain{has: map[chain.Hash]bool{}}
	blocks := chainOf(chain.Hash{1}, 5, 2)
	if d = r.OnImport(blocks, false, 2, nil, c); d.Kind != Ask || d.Req.From != 7 || d.Req.Count != 1 {
		t.Fatalf("after 2 blocks: got %+v, want Ask from 7 count 1", d)
	}
	if d = r.OnImport(chainOf(blocks[1].Hash(), 7, 1), false, 1, nil, c); d.Kind != Done || d.Err != nil {
		t.Fatalf("at the target: got %+v, want Done", d)
	}
	if err := r.Finish(nil, c); err != nil || r.Imported != 3 {
		t.Errorf("finish after 3 blocks: got %v, %d imported; want nil, 3", err, r.Imported)
	}
	stored := errors.New("store: disk full")
	r, _ = fetching(t, 7)
	if d = r.OnImport(blocks, false, 0, stored, c); d.Kind != Done || !errors.Is(d.Err, stored) {
		t.Errorf("import failed: got %+v, want Done with its error", d)
	}
	if err := r.Finish(nil, c); !errors.Is(err, ErrUndelivered) {
		t.Errorf("finish with nothing imported: got %v, want ErrUndelivered", err)
	}
}
