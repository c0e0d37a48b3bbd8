package chain

import (
	"iter"
	"maps"
	"math"
	"slices"
)

// cowMap is a map whose copies share their contents: a base map and layers of changes, oldest first, that no copy
// ever writes, and a top layer of the changes this copy made since it was made (a removed entry is a tombstone).
// A copy costs O(top): the top is frozen into a new shared layer. Once a copy would have more than maxLayers
// layers, its layers are merged into one, O(changes), or folded into a fresh base, O(entries), when they hold
// more than foldAt(base) entries. A lookup reads at most maxLayers + 2 maps.
//
// So a chain of copies that each change k entries (a state's accounts, a block's new votes in a tally) costs
// O(k + entries/maxLayers) per copy in time and memory at most, instead of O(entries). The zero cowMap is an empty map.
//
// A cowMap is not safe for concurrent mutation; copies are independent of each other and may be read and
// written by different goroutines.
type cowMap[K comparable, V any] struct {
	base   map[K]V           // never modified: shared by copies
	layers []map[K]cowSet[V] // never modified: shared by copies; oldest first
	top    map[K]cowSet[V]   // owned by this copy
	n      int               // entries in all
}

// maxLayers is the most shared layers a cowMap keeps above its base before a copy folds them into a new base.
const maxLayers = 16

// cowSet is a layer's entry: a value, or a tombstone for an entry of a lower layer removed.
type cowSet[V any] struct {
	v    V
	gone bool
}

// cowMapOf returns a cowMap holding m's entries; m becomes its base and must not be modified afterwards.
func cowMapOf[K comparable, V any](m map[K]V) cowMap[K, V] { return cowMap[K, V]{base: m, n: len(m)} }

// get returns k's value and whether k is present.
func (m *cowMap[K, V]) get(k K) (V, bool) {
	if e, ok := m.top[k]; ok {
		return e.v, !e.gone
	}
	return m.below(k)
}

// below returns k's value in the shared layers and the base, and whether k is present there.
func (m *cowMap[K, V]) below(k K) (V, bool) {
	for i := len(m.layers) - 1; i >= 0; i-- {
		if e, ok := m.layers[i][k]; ok {
			return e.v, !e.gone
		}
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
	if m.top == nil {
		m.top = make(map[K]cowSet[V])
	}
	m.top[k] = cowSet[V]{v: v}
}

// remove deletes k.
func (m *cowMap[K, V]) remove(k K) {
	if _, ok := m.get(k); !ok {
		return
	}
	m.n--
	if _, shared := m.below(k); !shared {
		delete(m.top, k)
		return
	}
	if m.top == nil {
		m.top = make(map[K]cowSet[V])
	}
	m.top[k] = cowSet[V]{gone: true}
}

// size returns the number of entries.
func (m *cowMap[K, V]) size() int { return m.n }

// all yields every entry once, in no particular order. With layers above the base it reads a flat copy.
func (m *cowMap[K, V]) all() iter.Seq2[K, V] {
	if len(m.layers) > 0 {
		return maps.All(m.flat())
	}
	return func(yield func(K, V) bool) {
		for k, e := range m.top {
			if !e.gone && !yield(k, e.v) {
				return
			}
		}
		for k, v := range m.base {
			if _, changed := m.top[k]; !changed && !yield(k, v) {
				return
			}
		}
	}
}

// flat returns the entries as one new map, the caller's.
func (m *cowMap[K, V]) flat() map[K]V {
	out := make(map[K]V, m.n)
	maps.Copy(out, m.base)
	for _, l := range append(slices.Clip(m.layers), m.top) {
		for k, e := range l {
			if e.gone {
				delete(out, k)
			} else {
				out[k] = e.v
			}
		}
	}
	return out
}

// clone returns a copy of m that shares m's base and layers and freezes a copy of m's top as a new layer:
// O(top), or O(entries) when the layers are folded into a new base. m is only read.
func (m *cowMap[K, V]) clone() cowMap[K, V] { return m.copyOf(false) }

// cloneFinal is clone for an m that is never written again (a tally attached to a block): m's top becomes the
// copy's new layer as it is, without a copy.
func (m *cowMap[K, V]) cloneFinal() cowMap[K, V] { return m.copyOf(true) }

func (m *cowMap[K, V]) copyOf(final bool) cowMap[K, V] {
	if len(m.top) == 0 {
		return cowMap[K, V]{base: m.base, layers: m.layers, n: m.n}
	}
	if len(m.layers) < maxLayers {
		top := m.top
		if !final {
			top = maps.Clone(m.top)
		}
		return cowMap[K, V]{base: m.base, layers: append(slices.Clip(m.layers), top), n: m.n}
	}
	merged := make(map[K]cowSet[V])
	for _, l := range append(slices.Clip(m.layers), m.top) {
		maps.Copy(merged, l)
	}
	if len(merged) > foldAt(len(m.base)) {
		return cowMapOf(m.flat())
	}
	return cowMap[K, V]{base: m.base, layers: []map[K]cowSet[V]{merged}, n: m.n}
}

// foldAt returns the most changed entries a cowMap keeps in one merged layer above a base of n entries before it
// folds them into a new base: 2√n, at least 32. Changes few against the base (a state's accounts) are merged
// into one layer, O(changes), instead of copying the base.
func foldAt(n int) int { return max(32, 2*int(math.Sqrt(float64(n)))) }
