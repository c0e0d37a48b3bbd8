package consensus

import (
	"fmt"
	"slices"

	"github.com/posnode/posnode/chain"
)

// The checks steps of a conformance case (testdata/conformance/README.md).

// check runs every set check of c.
func (r *replayer) check(c *vecChecks) error {
	if c.Head != "" {
		h, err := r.hash(c.Head)
		if err != nil {
			return err
		}
		if got := r.tree.Head(); got.Hash != h {
			return fmt.Errorf("head: got %s (height %d), want %s", r.name(got.Hash), got.Height, c.Head)
		}
	}
	justified, finalized := r.tree.Finality()
	if c.Justified != nil {
		if err := r.checkpoint("justified", justified, c.Justified); err != nil {
			return err
		}
	}
	if c.Finalized != nil {
		if err := r.checkpoint("finalized", finalized, c.Finalized); err != nil {
			return err
		}
	}
	for _, f := range []func(*vecChecks) error{r.checkSlashed, r.checkAccounts, r.checkTable, r.checkBlocks} {
		if err := f(c); err != nil {
			return err
		}
	}
	return nil
}

// checkSlashed checks that exactly the named validators are slashed in the head's state.
func (r *replayer) checkSlashed(c *vecChecks) error {
	if c.Slashed == nil {
		return nil
	}
	var got []string
	for name, a := range r.c.Validators {
		if r.tree.HeadState().Account(a).Slashed {
			got = append(got, name)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(*c.Slashed))
	if !slices.Equal(got, want) {
		return fmt.Errorf("slashed: got %v, want %v", got, want)
	}
	return nil
}

func (r *replayer) checkAccounts(c *vecChecks) error {
	for name, want := range c.Accounts {
		a, err := r.addr(name)
		if err != nil {
			return err
		}
		acc := r.tree.HeadState().Account(a)
		if got := (vecAccount{Stake: acc.Stake, Unbonding: acc.Unbonding, Slashed: acc.Slashed}); got != want {
			return fmt.Errorf("account %s: got %+v, want %+v", name, got, want)
		}
	}
	return nil
}

func (r *replayer) checkTable(c *vecChecks) error {
	if c.Table == nil {
		return nil
	}
	table, err := r.tree.StakeTable(c.Table.Epoch)
	if err != nil {
		return err
	}
	got := map[string]chain.Amount{}
	for _, s := range table {
		name := s.Addr.Short()
		for n, a := range r.c.Validators {
			if a == s.Addr {
				name = n
			}
		}
		got[name] = s.Amount
	}
	if fmt.Sprint(got) != fmt.Sprint(c.Table.Stakes) { // fmt prints maps sorted by key
		return fmt.Errorf("stake table of epoch %d: got %v, want %v", c.Table.Epoch, got, c.Table.Stakes)
	}
	return nil
}

// checkBlocks checks which blocks the tree holds and which are final.
func (r *replayer) checkBlocks(c *vecChecks) error {
	for _, set := range []struct {
		names []string
		want  bool
		what  string
		test  func(chain.Hash) bool
	}{
		{c.Known, true, "in the tree", r.tree.Has},
		{c.Unknown, false, "in the tree", r.tree.Has},
		{c.Final, true, "final", r.tree.IsFinal},
		{c.NotFinal, false, "final", r.tree.IsFinal},
	} {
		for _, name := range set.names {
			h, err := r.hash(name)
			if err != nil {
				return err
			}
			if got := set.test(h); got != set.want {
				return fmt.Errorf("block %s %s: got %v, want %v", name, set.what, got, set.want)
			}
		}
	}
	return nil
}
