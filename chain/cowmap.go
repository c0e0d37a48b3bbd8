package chain

import (
	"iter"
	"maps"
	"math"
)

// cowMap is a map whose copies share their contents: a base map that no copy ever writes, and an overlay of the
// entries this copy changed since its base was made (a removed entry is a tombstone). A copy costs
// O(overlay), and the overlay is folded into a fresh base once it outgrows twice the square root of the base
// (at least 32 entries), so that a chain of copies, each changing a few entries, costs a few entries per copy
// in time and memory, and O(entries) once every O(√entries) copies. The zero cowMap is an empty map.
//
// A cowMap is not safe for concurrent mutation; copies are independent of each other and may be read and
// written by different goroutines.
type cowMap[K comparable, V any] struct {
	base map[K]V         // never modified: shared by copies
	over map[K]cowSet[V] // owned by this copy
	n    int             // entries in all
}

// cowSet is an overlay entry: a value, or a tombstone for an entry of the base removed.
type cowSet[V any] struct {
	v    V
	gone bool
}

// cowMapOf returns a cowMap holding m's entries; m becomes its base and must not be modified afterwards.
func cowMapOf[K comparable, V any](m map[K]V) cowMap[K, V] { return cowMap[K, V]{base: m, n: len(m)} }

// get returns k's value and whether k is present.
func (m *cowMap[K, V]) get(k K) (V, bool) {
	if e, ok := m.over[k]; ok {
		return e.v, !e.gone
	}
	v, ok := m.base[k]
	return v, ok
}

// at returns k's value, the zero V if k is absent.
func (m *cowMap[K, V]) at(k K) V {
	v, _ := m.get(k)
	return v
}

// put sets k's value.
func (m *cowMap[K, V]) put(k K, v V) {
	if _, ok := m.get(k); !ok {
		m.n++
	}
	if m.over == nil {
		m.over = make(map[K]cowSet[V])
	}
	m.over[k] = cowSet[V]{v: v}
}

// remove deletes k.
func (m *cowMap[K, V]) remove(k K) {
	if _, ok := m.get(k); !ok {
		return
	}
	m.n--
	if _, inBase := m.base[k]; inBase {
		if m.over == nil {
			m.over = make(map[K]cowSet[V])
		}
		m.over[k] = cowSet[V]{gone: true}
		return
	}
	delete(m.over, k)
}

// size returns the number of entries.
func (m *cowMap[K, V]) size() int { return m.n }

// all yields every entry once, in no particular order.
func (m *cowMap[K, V]) all() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for k, e := range m.over {
			if !e.gone && !yield(k, e.v) {
				return
			}
		}
		for k, v := range m.base {
			if _, changed := m.over[k]; !changed && !yield(k, v) {
				return
			}
		}
	}
}

// flat returns the entries as one new map, the caller's.
func (m *cowMap[K, V]) flat() map[K]V {
	out := make(map[K]V, m.n)
	for k, v := range m.all() {
		out[k] = v
	}
	return out
}

// clone returns a copy of m that shares m's base: O(overlay), or O(entries) when the overlay is folded into a
// new base. m is only read.
func (m *cowMap[K, V]) clone() cowMap[K, V] {
	if len(m.over) > foldAt(len(m.base)) {
		return cowMapOf(m.flat())
	}
	return cowMap[K, V]{base: m.base, over: maps.Clone(m.over), n: m.n}
}

// foldAt returns the overlay size above which a copy folds the overlay into a new base of n entries:
// 2√n, at least 32.
func foldAt(n int) int { return max(32, 2*int(math.Sqrt(float64(n)))) }
