package chain

// stakeIndex is a stake table's amounts by address: what a tally, a vote's membership check and Accountable look a
// validator up in, one map probe instead of a binary search of the table. It is built once per table where a state's
// tables are set (rotate, Genesis.State) and never modified: the state's clones and every tally of that table (one
// per branch and epoch) share it.
type stakeIndex map[Address]Amount

// newStakeIndex returns the index of table.
func newStakeIndex(table []Stake) stakeIndex {
	idx := make(stakeIndex, len(table))
	for _, s := range table {
		idx[s.Addr] = s.Amount
	}
	return idx
}

// tableIndex returns the index of s.tables[i], or nil when the state keeps none for that very slice (a table set
// by a snapshot or an anchor rather than by rotate or Genesis.State): callers then search the table.
func (s *State) tableIndex(i int) stakeIndex {
	if i < len(s.tableIdx) && s.derivedFromTable(i) {
		return s.tableIdx[i]
	}
	return nil
}

// tableIndexed returns table(e) and its index: nil when the state keeps none for it (an epoch past the tables it
// keeps, whose table is the live stakes, or a table without an index). Both are shared and must not be modified.
func (s *State) tableIndexed(e Epoch) ([]Stake, stakeIndex) {
	if e >= s.epoch && e-s.epoch < Epoch(len(s.tables)) {
		i := int(e - s.epoch)
		return s.tables[i], s.tableIndex(i)
	}
	return s.table(e), nil
}
