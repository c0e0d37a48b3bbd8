package slashprot

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/posnode/posnode/chain"
)

// key returns a test validator address.
func key(i int) chain.Address { return chain.Address(sha256.Sum256(fmt.Appendf(nil, "key-%d", i))) }

// root returns a test signing root.
func root(name string) chain.Hash { return chain.HashBytes([]byte(name)) }

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type blockStep struct {
	addr chain.Address
	slot chain.Slot
	root chain.Hash
}

func TestBlockRules(t *testing.T) {
	a, b := key(1), key(2)
	cases := []struct {
		name  string
		prior []blockStep
		try   blockStep
		want  error
	}{
		{"first block", nil, blockStep{a, 5, root("x")}, nil},
		{"later slot", []blockStep{{a, 5, root("x")}}, blockStep{a, 6, root("y")}, nil},
		{"identical re-sign", []blockStep{{a, 5, root("x")}}, blockStep{a, 5, root("x")}, nil},
		{"double proposal", []blockStep{{a, 5, root("x")}}, blockStep{a, 5, root("y")}, ErrDoubleBlock},
		{"lower slot never signed", []blockStep{{a, 5, root("x")}}, blockStep{a, 4, root("y")}, ErrBlockBelowWatermark},
		{"older block re-signed", []blockStep{{a, 5, root("x")}, {a, 7, root("z")}}, blockStep{a, 5, root("x")}, ErrBlockBelowWatermark},
		{"zero root asked at a signed slot", []blockStep{{a, 5, root("x")}}, blockStep{a, 5, chain.Hash{}}, ErrDoubleBlock},
		{"slot recorded with unknown root", []blockStep{{a, 5, chain.Hash{}}}, blockStep{a, 5, root("x")}, ErrDoubleBlock},
		{"after an unknown root, a later slot", []blockStep{{a, 5, chain.Hash{}}}, blockStep{a, 6, root("x")}, nil},
		{"keys are independent", []blockStep{{a, 5, root("x")}}, blockStep{b, 5, root("y")}, nil},
		{"other key below", []blockStep{{a, 9, root("x")}, {b, 5, root("y")}}, blockStep{b, 4, root("w")}, ErrBlockBelowWatermark},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t)
			for _, p := range tc.prior {
				if err := db.CheckAndRecordBlock(p.addr, p.slot, p.root); err != nil {
					t.Fatalf("prior block %d: %v", p.slot, err)
				}
			}
			before := db.records
			err := db.CheckAndRecordBlock(tc.try.addr, tc.try.slot, tc.try.root)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.want != nil && !errors.Is(err, ErrSlashableBlock) {
				t.Errorf("got %v, want it to match ErrSlashableBlock", err)
			}
			if err != nil && db.records != before {
				t.Errorf("refused block recorded: %d records, want %d", db.records, before)
			}
		})
	}
}

type voteStep struct {
	addr           chain.Address
	source, target chain.Epoch
	root           chain.Hash
}

func TestVoteRules(t *testing.T) {
	a, b := key(1), key(2)
	v := func(s, tg chain.Epoch, r string) voteStep {
		var h chain.Hash
		if r != "" {
			h = root(r)
		}
		return voteStep{a, s, tg, h}
	}
	cases := []struct {
		name  string
		prior []voteStep
		try   voteStep
		want  error
	}{
		{"first vote", nil, v(1, 2, "x"), nil},
		{"genesis vote", nil, v(0, 0, "x"), nil},
		{"next epoch", []voteStep{v(1, 2, "x")}, v(2, 3, "y"), nil},
		{"same source, later target", []voteStep{v(1, 2, "x")}, v(1, 3, "y"), nil},
		{"identical re-sign", []voteStep{v(1, 2, "x")}, v(1, 2, "x"), nil},
		{"identical re-sign of an older kept vote", []voteStep{v(1, 2, "x"), v(2, 3, "y")}, v(1, 2, "x"), nil},
		{"double vote, other root", []voteStep{v(1, 2, "x")}, v(1, 2, "y"), ErrDoubleVote},
		{"double vote, other source", []voteStep{v(1, 2, "x")}, v(0, 2, "y"), ErrDoubleVote},
		{"double vote, unknown root recorded", []voteStep{v(1, 2, "")}, v(1, 2, "x"), ErrDoubleVote},
		{"double vote, unknown root asked", []voteStep{v(1, 2, "x")}, v(1, 2, ""), ErrDoubleVote},
		{"surrounding", []voteStep{v(3, 4, "x")}, v(2, 5, "y"), ErrSurroundingVote},
		{"surrounded", []voteStep{v(2, 5, "x")}, v(3, 4, "y"), ErrSurroundedVote},
		{"surrounding an older kept vote", []voteStep{v(3, 4, "x"), v(4, 9, "y")}, v(2, 10, "z"), ErrSurroundingVote},
		{"target below, same source", []voteStep{v(3, 10, "x")}, v(3, 9, "y"), ErrVoteBelowWatermark},
		{"source equal, target equal to older", []voteStep{v(1, 2, "x"), v(2, 3, "y")}, v(2, 2, "z"), ErrDoubleVote},
		{"source after target", nil, v(5, 4, "x"), ErrInvalidVote},
		{"keys are independent", []voteStep{v(3, 4, "x")}, voteStep{b, 2, 5, root("y")}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t)
			for _, p := range tc.prior {
				if err := db.CheckAndRecordVote(p.addr, p.source, p.target, p.root); err != nil {
					t.Fatalf("prior vote %d→%d: %v", p.source, p.target, err)
				}
			}
			before := db.records
			err := db.CheckAndRecordVote(tc.try.addr, tc.try.source, tc.try.target, tc.try.root)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.want != nil && tc.want != ErrInvalidVote && !errors.Is(err, ErrSlashableVote) {
				t.Errorf("got %v, want it to match ErrSlashableVote", err)
			}
			if err != nil && db.records != before {
				t.Errorf("refused vote recorded: %d records, want %d", db.records, before)
			}
		})
	}
}

// Once old votes have left the kept window, only the watermark remembers them; it refuses a lower source and a
// target at or below the highest even though no kept vote names the offence.
func TestVoteWatermarkWithoutKeptVotes(t *testing.T) {
	db := openTemp(t)
	a := key(1)
	rec := watermarkRecord(a, 5, 6)
	if err := db.append([]record{rec}); err != nil {
		t.Fatal(err)
	}
	db.signer(a).apply(rec)
	for _, tc := range []struct {
		source, target chain.Epoch
		want           error
	}{
		{4, 7, ErrVoteBelowWatermark},
		{5, 6, ErrVoteBelowWatermark},
		{6, 6, ErrVoteBelowWatermark},
		{5, 7, nil},
	} {
		err := db.CheckAndRecordVote(a, tc.source, tc.target, root("v"))
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("vote %d→%d: got %v, want %v", tc.source, tc.target, err, tc.want)
		}
	}
}

// No sequence of votes the record accepts holds a slashable pair: random attempts against a naive check of
// every accepted pair.
func TestAcceptedVotesNeverSlashable(t *testing.T) {
	db := openTemp(t)
	a := key(1)
	var accepted []vote
	seed := uint64(1)
	next := func(n uint64) uint64 { seed = seed*6364136223846793005 + 1442695040888963407; return (seed >> 33) % n }
	for range 3000 {
		s := chain.Epoch(next(40))
		tg := s + chain.Epoch(next(8))
		r := root(fmt.Sprint(next(3)))
		if db.CheckAndRecordVote(a, s, tg, r) != nil {
			continue
		}
		nv := vote{s, tg, r}
		for _, old := range accepted {
			if slashable(old, nv) {
				t.Fatalf("accepted %d→%d after %d→%d: a slashable pair", s, tg, old.source, old.target)
			}
		}
		accepted = append(accepted, nv)
	}
	if len(accepted) < 5 {
		t.Fatalf("only %d votes accepted; the test exercises nothing", len(accepted))
	}
}

// slashable is the naive definition (Casper FFG): a double vote or a surround vote.
func slashable(x, y vote) bool {
	if x == y {
		return false
	}
	return x.target == y.target ||
		(x.source < y.source && y.target < x.target) || (y.source < x.source && x.target < y.target)
}
