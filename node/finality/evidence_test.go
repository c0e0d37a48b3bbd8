package finality

import (
	"errors"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/votepool"
)

// Include records a block's evidence as included and counts each offence's slashing once: only for a block that
// joins the chain now, not for one read at start, and not again when a reorg applies it once more
// (PROTOCOL.md §8b).
func TestIncludeCountsEachOffenceOnce(t *testing.T) {
	const now = 4
	ev1, ev2 := doubleVote(1, 3), doubleVote(2, 3)
	block := func(slot chain.Slot, evidence ...chain.Evidence) *chain.Block {
		return &chain.Block{Header: chain.Header{Slot: slot, Height: chain.Height(slot)}, Evidence: evidence}
	}
	slashings := func(b *chain.Block) []chain.Slashing {
		var out []chain.Slashing
		for _, e := range b.Evidence {
			out = append(out, chain.Slashing{Offender: e.Offender(), Kind: e.Kind, Burned: 1})
		}
		return out
	}
	d := dutyOf(0, newChain(), now)
	steps := []struct {
		name    string
		block   *chain.Block
		fresh   bool
		want    []bool
		wantErr error
	}{
		{"read at start", block(30, ev1), false, []bool{false}, nil},
		{"joins the chain", block(31, ev1, ev2), true, []bool{true, true}, nil},
		{"applied again after a reorg", block(32, ev2), true, []bool{false}, nil},
		{"slashings that do not match", block(33, ev1), true, nil, ErrSlashings},
	}
	for _, s := range steps {
		sl := slashings(s.block)
		if s.wantErr != nil {
			sl = nil
		}
		got, err := d.Include(s.block, sl, s.fresh, now)
		if !errors.Is(err, s.wantErr) || len(got) != len(s.want) {
			t.Errorf("%s: got %v, %v; want %v, %v", s.name, got, err, s.want, s.wantErr)
			continue
		}
		for i := range got {
			if got[i] != s.want[i] {
				t.Errorf("%s: piece %d counted %t, want %t", s.name, i, got[i], s.want[i])
			}
		}
	}
	if got, want := len(d.Pool().Included()), 4; got != want { // 30, 31 twice, 32; not 33
		t.Errorf("%d pieces recorded as included, want %d", got, want)
	}
}

// AddEvidence keeps evidence against an offender that can still be punished, once (PROTOCOL.md §8b); Conflict and
// CanAccuse agree with it.
func TestAddEvidence(t *testing.T) {
	const now = 4
	c := newChain()
	d := dutyOf(0, c, now)
	stranger := doubleVote(4, 3) // validator 4 holds no stake and nothing unbonding
	cases := []struct {
		name string
		ev   chain.Evidence
		want error
	}{
		{"against a staked validator", doubleVote(1, 3), nil},
		{"the same again", doubleVote(1, 3), votepool.ErrKnown},
		{"more against the same offender", doubleVote(1, 4), votepool.ErrOffenderPending},
		{"against an offender with nothing to slash", stranger, ErrNotPunishable},
	}
	for _, tc := range cases {
		if err := d.AddEvidence(tc.ev, c); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	accuse := []struct {
		who  int
		want bool
	}{{1, false}, {2, true}, {4, false}}
	for _, tc := range accuse {
		if got := d.CanAccuse(addr(tc.who), c); got != tc.want {
			t.Errorf("can accuse validator %d: got %t, want %t", tc.who, got, tc.want)
		}
	}
	if _, evidence := d.ForBlock(); len(evidence) != 1 || evidence[0].Offender() != addr(1) {
		t.Errorf("offers %d pieces of evidence, want the one against validator 1", len(evidence))
	}
}

// AdmitVote takes a peer's vote a block can count from a validator of its epoch's table, and answers a
// slashable one with its evidence; Applied finds the same in a block's votes; Conflict finds it without keeping
// the vote (PROTOCOL.md §8a, §8b).
func TestAdmitVote(t *testing.T) {
	const now = 5
	c := newChain()
	d := dutyOf(0, c, now)
	first := vote(1, cp(3, 0), cp(5, 0))
	double := vote(1, cp(3, 0), cp(5, 1))
	cases := []struct {
		name         string
		v            chain.Vote
		wantErr      error
		wantEvidence bool
	}{
		{"a vote of the current epoch", first, nil, false},
		{"the same again", first, votepool.ErrKnown, false},
		{"a vote of the previous epoch", vote(2, cp(3, 0), cp(4, 0)), nil, false},
		{"a vote too old to count", vote(2, cp(2, 0), cp(3, 0)), ErrVoteEpoch, false},
		{"a vote ahead of the clock", vote(2, cp(5, 0), cp(6, 0)), ErrVoteEpoch, false},
		{"a validator of no table", vote(4, cp(3, 0), cp(5, 0)), chain.ErrVoteNotValidator, false},
		{"a double vote", double, votepool.ErrConflict, true},
	}
	for _, tc := range cases {
		ev, err := d.AdmitVote(tc.v, now, c)
		if !errors.Is(err, tc.wantErr) || (ev != nil) != tc.wantEvidence {
			t.Errorf("%s: got evidence %t, error %v; want evidence %t, error %v", tc.name, ev != nil, err,
				tc.wantEvidence, tc.wantErr)
		}
	}
	if held, ok := d.Conflict(double, c); !ok || held != first {
		t.Errorf("conflict of the double vote: got %t, want the first vote", ok)
	}
	found := d.Applied(&chain.Block{Votes: []chain.Vote{vote(3, cp(3, 0), cp(5, 0)), double}})
	if len(found) != 1 || found[0].Offender() != addr(1) {
		t.Errorf("a block's votes made %d pieces of evidence, want the double vote of validator 1", len(found))
	}
	if err := d.AddEvidence(found[0], c); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Conflict(double, c); ok {
		t.Error("a conflict found against an offender with evidence pending")
	}
}

// Precheck refuses, before any signature is checked, a vote out of the retained window and a stranger's.
func TestPrecheck(t *testing.T) {
	const now = chain.UnbondingEpochs + 20
	state := genesis().State()
	cases := []struct {
		name string
		v    chain.Vote
		want error
	}{
		{"a countable vote", vote(1, cp(now-1, 0), cp(now, 0)), nil},
		{"an old vote still retained", vote(1, cp(now-chain.UnbondingEpochs-1, 0), cp(now-chain.UnbondingEpochs, 0)), nil},
		{"older than retained", vote(1, cp(now-chain.UnbondingEpochs-2, 0), cp(now-chain.UnbondingEpochs-1, 0)), ErrVoteEpoch},
		{"ahead of the clock", vote(1, cp(now, 0), cp(now+1, 0)), ErrVoteEpoch},
		{"a stranger's", vote(4, cp(now-1, 0), cp(now, 0)), ErrStranger},
	}
	for _, tc := range cases {
		if err := Precheck(&tc.v, now, state); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Slot drops pending evidence whose offender can no longer be punished (PROTOCOL.md §8b).
func TestSlotDropsUnpunishable(t *testing.T) {
	c := newChain()
	d := dutyOf(0, c, 4)
	if err := d.AddEvidence(doubleVote(1, 3), c); err != nil {
		t.Fatal(err)
	}
	d.Slot(4*epochLen+1, c)
	if _, evidence := d.ForBlock(); len(evidence) != 1 {
		t.Fatalf("%d pieces of evidence pending, want 1", len(evidence))
	}
	g := genesis()
	g.Allocations[1].Stake = 0 // the offender's stake is gone on the head's branch
	c.state = g.State()
	d.Slot(4*epochLen+2, c)
	if _, evidence := d.ForBlock(); len(evidence) != 0 {
		t.Errorf("%d pieces of evidence pending against an offender with nothing to slash, want 0", len(evidence))
	}
}

// posnode_slashings_total counts each offence once (offender, kind, slot or target epoch): the same evidence
// applied again after a reorg, or another pair proving the same offence, is not counted again; another offence
// of the same offender is; an offence is forgotten only once its evidence can no longer be included.
func TestSlashCountEachOffenceOnce(t *testing.T) {
	const epochLength = 8
	var alice, bob chain.Address
	alice[0], bob[0] = 1, 2
	proposal := func(who chain.Address, slot chain.Slot, root byte) chain.Evidence {
		a, b := chain.Header{Slot: slot, Proposer: who}, chain.Header{Slot: slot, Proposer: who}
		b.StateRoot[0] = root
		return chain.Evidence{Kind: chain.EvidenceDoubleProposal, HeaderA: a, HeaderB: b}
	}
	vote := func(who chain.Address, source, target chain.Epoch) chain.Evidence {
		a := chain.Vote{Validator: who, Source: chain.Checkpoint{Epoch: source}, Target: chain.Checkpoint{Epoch: target}}
		b := a
		b.Target.Hash[0] = 9
		return chain.Evidence{Kind: chain.EvidenceDoubleVote, VoteA: a, VoteB: b}
	}
	c := newSlashCount(epochLength)
	steps := []struct {
		name string
		ev   chain.Evidence
		now  chain.Epoch
		want bool
	}{
		{"first double proposal", proposal(alice, 17, 1), 2, true},
		{"the same evidence after a reorg", proposal(alice, 17, 1), 2, false},
		{"another pair for the same slot", proposal(alice, 17, 2), 3, false},
		{"the same offender at another slot", proposal(alice, 18, 1), 3, true},
		{"another offender at the same slot", proposal(bob, 17, 1), 3, true},
		{"a double vote of the same offender", vote(alice, 1, 2), 3, true},
		{"the double vote again", vote(alice, 1, 2), 4, false},
		{"the double vote, still retained at epoch 2 + U", vote(alice, 1, 2), 2 + chain.UnbondingEpochs, false},
		{"the double proposal, forgotten once out of the window (2 + U < 3 + U)", proposal(alice, 17, 1), 3 + chain.UnbondingEpochs, true},
	}
	for _, s := range steps {
		if got := c.first(&s.ev, s.now); got != s.want {
			t.Errorf("%s: counted %t, want %t", s.name, got, s.want)
		}
	}
	if got, want := len(c.counted), 1; got != want { // every offence was of epoch 2: only the re-added one
		t.Errorf("remembers %d offences at epoch 3 + U, want %d", got, want)
	}
}
