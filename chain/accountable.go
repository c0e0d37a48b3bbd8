package chain

// Accountable reports whether a signature of a can matter to a node whose head's post-state is s (PROTOCOL.md
// §8b, §10): a is in one of s's stake tables or holds live stake, so that a block on s's branch could count its
// vote, or holds unbonding tokens, so that evidence against it could still punish it. Votes and blocks signed by
// anyone else are refused before their signature is checked.
func (s *State) Accountable(a Address) bool { return s.mayStake(a) || s.accounts.at(a).Unbonding > 0 }
