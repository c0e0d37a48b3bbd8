package chain

import (
	"maps"
	"math/rand/v2"
	"testing"
)

// TestCowMapMatchesMap applies the same random puts and removes to a cowMap and to a plain map, cloning both at
// random points and going on from either the clone (of a map written again or not) or the original, and checks after every step that they hold
// the same entries, and at the end that every version kept still holds what it held when it was made.
func TestCowMapMatchesMap(t *testing.T) {
	for _, keys := range []int{8, 100, 1000} {
		rng := rand.New(rand.NewPCG(uint64(keys), 7))
		type version struct {
			m    cowMap[int, int]
			want map[int]int
		}
		var kept []version
		m, want := cowMap[int, int]{}, map[int]int{}
		for step := range 2000 {
			k := rng.IntN(keys)
			switch op := rng.IntN(10); {
			case op < 6:
				m.put(k, step)
				want[k] = step
			case op < 8:
				m.remove(k)
				delete(want, k)
			default:
				kept = append(kept, version{m, maps.Clone(want)})
				switch rng.IntN(3) {
				case 0: // go on from the clone
					m = m.clone()
				case 1: // go on from a clone of a map never written again
					m = m.cloneFinal()
				default: // go on from the original and keep the clone
					kept[len(kept)-1].m = m.clone()
				}
			}
			checkCowMap(t, keys, step, &m, want)
		}
		for i := range kept {
			checkCowMap(t, keys, i, &kept[i].m, kept[i].want)
		}
	}
}

func checkCowMap(t *testing.T, keys, step int, m *cowMap[int, int], want map[int]int) {
	t.Helper()
	if got := m.flat(); !maps.Equal(got, want) || m.size() != len(want) {
		t.Fatalf("keys %d, step %d: got %d entries (size %d), want %d", keys, step, len(got), m.size(), len(want))
	}
	for k := range keys {
		v, ok := m.get(k)
		if w, wok := want[k]; v != w || ok != wok {
			t.Fatalf("keys %d, step %d: key %d: got %d %v, want %d %v", keys, step, k, v, ok, w, wok)
		}
	}
}

// TestCowStateRoot changes random accounts of a chain of cloned states, settling the root of each as the tree
// does, and checks every root against that of a state built afresh from a plain map of the same accounts.
func TestCowStateRoot(t *testing.T) {
	for _, n := range []int{10, 1024} {
		rng := rand.New(rand.NewPCG(uint64(n), 11))
		s, addrs := cloneBenchState(n)
		for block := range 300 {
			c := s.Clone()
			for range 1 + rng.IntN(5) {
				a := addrs[rng.IntN(n)]
				if rng.IntN(20) == 0 {
					a = Address(HashBytes([]byte{byte(block), byte(rng.IntN(256))})) // a new account
					addrs = append(addrs, a)
				}
				acc := c.Account(a)
				acc.Balance += Amount(1 + rng.IntN(100))
				c.set(nil, a, acc)
			}
			got := c.settleRoot()
			plain := &State{params: c.params, accounts: cowMapOf(c.accounts.flat()), epoch: c.epoch, tables: c.tables}
			if want := plain.Root(); got != want {
				t.Fatalf("accounts %d, block %d: got root %s, want %s", n, block, got.Short(), want.Short())
			}
			if got, want := c.Accounts(), plain.Accounts(); got != want {
				t.Fatalf("accounts %d, block %d: got %d accounts, want %d", n, block, got, want)
			}
			s = c
		}
	}
}
