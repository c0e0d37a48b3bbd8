package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// prefixBackend holds blocks by height and answers prefixes of their hashes and of transaction IDs as a node
// does: one match is the answer, several are ambiguous.
type prefixBackend struct {
	Backend
	blocks map[uint64]view.Block
	txs    []chain.Hash
}

func (p prefixBackend) Status(context.Context) (view.Status, error) {
	return view.Status{Height: 1}, nil
}

func (p prefixBackend) Block(_ context.Context, h uint64) (view.Block, error) {
	if b, ok := p.blocks[h]; ok {
		return b, nil
	}
	return view.Block{}, fmt.Errorf("%w: no block at height %d", view.ErrNotFound, h)
}

func (p prefixBackend) FindBlock(_ context.Context, prefix string) (view.Block, bool, error) {
	var found []view.Block
	for _, b := range p.blocks {
		if strings.HasPrefix(b.Hash.String(), strings.ToLower(prefix)) {
			found = append(found, b)
		}
	}
	switch len(found) {
	case 0:
		return view.Block{}, false, fmt.Errorf("%w: no block %s", view.ErrNotFound, prefix)
	case 1:
		return found[0], true, nil
	}
	return view.Block{}, false, fmt.Errorf("%w: %d blocks start with %s; give more digits", view.ErrAmbiguous, len(found), prefix)
}

func (p prefixBackend) FindTx(_ context.Context, prefix string) (view.TxStatus, error) {
	for _, id := range p.txs {
		if strings.HasPrefix(id.String(), strings.ToLower(prefix)) {
			return view.TxStatus{ID: id, Status: "committed"}, nil
		}
	}
	return view.TxStatus{}, fmt.Errorf("%w: no transaction %s", view.ErrNotFound, prefix)
}

func hashOf(s string) chain.Hash {
	h, err := chain.ParseHash(s + strings.Repeat("0", 64-len(s)))
	if err != nil {
		panic(err)
	}
	return h
}

// Prefixes that name more than one thing say so (409) on the block page, in the API and in the search: two
// blocks' hashes, a height that is also the start of a hash, a block's hash and a transaction's ID.
func TestAmbiguousPrefixes(t *testing.T) {
	be := prefixBackend{blocks: map[uint64]view.Block{
		1:        {Height: 1, Hash: hashOf("ea7f78141")},
		2:        {Height: 2, Hash: hashOf("ea7f78142")},
		3:        {Height: 3, Hash: hashOf("12345678aa")},
		12345678: {Height: 12345678, Hash: hashOf("bb")},
		4:        {Height: 4, Hash: hashOf("cc00dd11")},
	}, txs: []chain.Hash{hashOf("cc00dd1122")}}
	s := &Server{cfg: Config{Addr: "127.0.0.1:0", Token: "t", Backend: be}}
	tests := []struct {
		path string
		code int
		want string
	}{
		{"/api/blocks/ea7f7814", 409, "2 blocks start with ea7f7814; give more digits"},
		{"/block/ea7f7814", 409, "2 blocks start with ea7f7814"},
		{"/search?q=ea7f7814", 409, "2 blocks start with ea7f7814"},
		{"/api/blocks/ea7f78142", 200, `"height": 2`},
		{"/api/blocks/12345678", 409, "12345678 is the height of block bb000000 and the start of block hash 12345678"},
		{"/search?q=12345678", 409, "is the height of block bb000000"},
		{"/api/blocks/12345678a", 200, `"height": 3`},
		{"/search?q=cc00dd11", 409, "cc00dd11 starts both block cc00dd11 and transaction cc00dd11; give more digits"},
		{"/search?q=cc00dd112", 303, ""},
		{"/api/blocks/1234567", 404, "no block at height 1234567"},
		{"/api/blocks/ea7f781", 400, "neither a height nor a block hash"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("GET %s: %d %s\nwant %d with %q", tt.path, rec.Code, rec.Body, tt.code, tt.want)
		}
	}
}
