package consensus

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/posnode/posnode/chain"
)

// poolLottery is the reference "pool" lottery of the tutorial this project grew from: one pool
// entry per staked token, so a pick is a single index, r → pool[r], but memory grows with the
// number of tokens. Entries here are 4-byte validator indexes rather than the tutorial's address
// strings (16 bytes per entry plus the string data), which flatters the pool. It uses the same
// unbiased draw as Table.Pick, so both pick the same winner for the same seed.
type poolLottery struct {
	addrs []chain.Address
	pool  []uint32
}

func newPoolLottery(stakes []chain.Stake) poolLottery {
	tab, err := NewTable(stakes)
	if err != nil {
		panic(err)
	}
	p := poolLottery{addrs: tab.addrs, pool: make([]uint32, 0, tab.Total())}
	for i, s := range tab.Validators() {
		for range s.Amount {
			p.pool = append(p.pool, uint32(i))
		}
	}
	return p
}

func (p poolLottery) pick(seed chain.Hash) chain.Address {
	return p.addrs[p.pool[draw(seed, uint64(len(p.pool)))]]
}

func (p poolLottery) bytesHeld() int {
	return len(p.addrs)*int(unsafe.Sizeof(chain.Address{})) + cap(p.pool)*int(unsafe.Sizeof(uint32(0)))
}

func (t Table) bytesHeld() int {
	return len(t.addrs)*int(unsafe.Sizeof(chain.Address{})) + len(t.cum)*int(unsafe.Sizeof(uint64(0)))
}

// benchStakes returns n validators with hash-derived addresses and stakes in [1, 10^6], sorted.
func benchStakes(n int) []chain.Stake {
	s := make([]chain.Stake, n)
	for i := range s {
		sum := sha256.Sum256(fmt.Appendf(nil, "stake-%d", i))
		s[i] = chain.Stake{Addr: hashAddr(i), Amount: 1 + chain.Amount(binary.BigEndian.Uint64(sum[:8])%1_000_000)}
	}
	slices.SortFunc(s, compareStakes)
	return s
}

// tokenStakes returns 10 validators whose stakes sum to tokens.
func tokenStakes(tokens int) []chain.Stake {
	s := make([]chain.Stake, 10)
	for i := range s {
		s[i] = chain.Stake{Addr: hashAddr(i), Amount: chain.Amount(tokens / 10)}
	}
	s[0].Amount += chain.Amount(tokens % 10)
	return s
}

// TestPoolMatchesTable checks that the reference pool lottery and Table.Pick agree, so that the
// benchmarks compare two implementations of the same rule.
func TestPoolMatchesTable(t *testing.T) {
	stakes := benchStakes(7)
	for i := range stakes {
		stakes[i].Amount %= 1000
	}
	tab, pool := mustTable(t, stakes), newPoolLottery(stakes)
	for i := range 2000 {
		seed := chain.HashBytes(binary.BigEndian.AppendUint64(nil, uint64(i)))
		got, _ := tab.Pick(seed)
		if want := pool.pick(seed); got != want {
			t.Fatalf("seed %s: Table.Pick = %s, pool = %s", seed, got, want)
		}
	}
}

var sinkAddr chain.Address

func BenchmarkPick(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		b.Run(fmt.Sprintf("validators=%d", n), func(b *testing.B) {
			tab := mustTable(b, benchStakes(n))
			b.ReportAllocs()
			seed := chain.HashBytes([]byte("bench"))
			for i := uint64(0); b.Loop(); i++ {
				binary.BigEndian.PutUint64(seed[:8], i)
				sinkAddr, _ = tab.Pick(seed)
			}
			b.ReportMetric(float64(tab.bytesHeld()), "bytes-held") // after b.Loop, which resets metrics
		})
	}
}

func BenchmarkPoolPick(b *testing.B) {
	for _, size := range []struct {
		name   string
		tokens int
	}{{"1e3", 1e3}, {"1e6", 1e6}, {"1e8", 1e8}} {
		b.Run("tokens="+size.name, func(b *testing.B) {
			pool := newPoolLottery(tokenStakes(size.tokens))
			b.ReportAllocs()
			seed := chain.HashBytes([]byte("bench"))
			for i := uint64(0); b.Loop(); i++ {
				binary.BigEndian.PutUint64(seed[:8], i)
				sinkAddr = pool.pick(seed)
			}
			b.ReportMetric(float64(pool.bytesHeld()), "bytes-held") // after b.Loop, which resets metrics
		})
	}
}

var sinkTable Table

func BenchmarkNewTable(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		sorted := benchStakes(n)
		shuffled := slices.Clone(sorted)
		rng := rand.New(rand.NewPCG(1, 2))
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for _, in := range []struct {
			name   string
			stakes []chain.Stake
		}{{"sorted", sorted}, {"shuffled", shuffled}} {
			b.Run(fmt.Sprintf("validators=%d/%s", n, in.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					sinkTable, _ = NewTable(in.stakes)
				}
			})
		}
	}
}
