package node

import (
	"errors"
	"testing"

	"github.com/posnode/posnode/chain"
)

// TestVoteWatermark: the stand-in slashing protection signs only votes that move forward, repeats the last one,
// and remembers across a reopen of the store.
func TestVoteWatermark(t *testing.T) {
	store := chain.NewMemStore()
	w, err := openVoteWatermark(store)
	if err != nil {
		t.Fatal(err)
	}
	r := chain.Hash{1}
	steps := []struct {
		name           string
		source, target chain.Epoch
		root           chain.Hash
		want           error
	}{
		{"first vote", 0, 1, r, nil},
		{"the same vote again", 0, 1, r, nil},
		{"double vote", 0, 1, chain.Hash{2}, ErrSlashableVote},
		{"next epoch", 1, 2, r, nil},
		{"older target", 1, 1, r, ErrSlashableVote},
		{"surrounding: lower source", 0, 5, r, ErrSlashableVote},
		{"skips epochs", 1, 5, r, nil},
		{"source moves on", 4, 6, r, nil},
	}
	for _, s := range steps {
		if err := w.CheckAndRecordVote(chain.Address{}, s.source, s.target, s.root); !errors.Is(err, s.want) {
			t.Errorf("%s: got %v, want %v", s.name, err, s.want)
		}
	}
	re, err := openVoteWatermark(store)
	if err != nil {
		t.Fatal(err)
	}
	if err := re.CheckAndRecordVote(chain.Address{}, 4, 6, chain.Hash{3}); !errors.Is(err, ErrSlashableVote) {
		t.Errorf("after reopen, another vote for epoch 6: got %v, want ErrSlashableVote", err)
	}
	if err := store.PutMeta(metaLastVote, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := openVoteWatermark(store); err == nil {
		t.Error("a damaged record opened as if there were none")
	}
}

func FuzzDecodeVoteMark(f *testing.F) {
	f.Add(voteMark{1, 2, chain.Hash{3}}.encode())
	f.Add(voteMark{2, 2, chain.Hash{}}.encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeVoteMark(b)
		if err != nil {
			return
		}
		if string(m.encode()) != string(b) {
			t.Fatalf("round trip: %x became %x", b, m.encode())
		}
	})
}
