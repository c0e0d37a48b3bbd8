package chain

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
)

// The bbolt file format (bbolt v1.5.0, internal/common), in the machine's byte order: a file of pages; page 0
// and 1 are meta pages, the one with the higher transaction id that passes its checksum is current. A page
// starts with id u64 | flags u16 | count u16 | overflow u32 (the pages after it that it spans); branch pages hold
// count elements pos u32 | ksize u32 | child u64, leaf pages flags u32 | pos u32 | ksize u32 | vsize u32, where
// pos is the offset of the key from the element and the value follows the key. A leaf element flagged as a
// bucket has as value root u64 | sequence u64, followed by the bucket's whole page when root is 0 (inline).
// The freelist page lists page ids (count 0xffff: the true count is the first u64).
const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	boltPageHeader     = 16
	boltElemSize       = 16
	boltBucketHeader   = 16
	boltBranchFlag     = 0x01
	boltLeafFlag       = 0x02
	boltMetaFlag       = 0x04
	boltFreelistFlag   = 0x10
	boltBucketElem     = 0x01
	boltNoFreelist     = ^uint64(0)
	boltMetaChecksumAt = 56 // bytes of the meta that its FNV-64a checksum covers
)

var ne = binary.NativeEndian

// boltMeta is the part of a meta page the verifier needs.
type boltMeta struct {
	pageSize uint32
	root     uint64 // page of the root bucket
	freelist uint64
	hwm      uint64 // pages in use: ids are below it
	txid     uint64
}

// parseBoltMeta reads the meta of the page in b; ok is false when its magic, version or checksum is wrong.
func parseBoltMeta(b []byte) (m boltMeta, ok bool) {
	if len(b) < boltPageHeader+boltMetaChecksumAt+8 {
		return m, false
	}
	mb := b[boltPageHeader:]
	sum := fnv.New64a()
	sum.Write(mb[:boltMetaChecksumAt])
	if ne.Uint32(mb[0:]) != boltMagic || ne.Uint32(mb[4:]) != boltVersion || ne.Uint64(mb[boltMetaChecksumAt:]) != sum.Sum64() {
		return m, false
	}
	m = boltMeta{pageSize: ne.Uint32(mb[8:]), root: ne.Uint64(mb[16:]), freelist: ne.Uint64(mb[32:]),
		hwm: ne.Uint64(mb[40:]), txid: ne.Uint64(mb[48:])}
	return m, true
}

// boltVerifier checks the page structure of a bbolt file by reading it, so that bbolt, which follows page
// numbers and lengths from disk without checking them, is never given a file it could crash on.
type boltVerifier struct {
	f    io.ReaderAt
	size int64
	meta boltMeta
	seen []bool // pages reachable from the root or free
}

// verifyBoltFile checks the file at path: a current meta page, a tree of pages from the root bucket where every
// page number, element and key lies in bounds, keys are ordered, no page is reached twice, and a free list
// that, with the tree, accounts for every page exactly once. An empty or missing file passes: bbolt makes a new
// one. Errors wrap ErrCorruptStore.
func verifyBoltFile(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	return verifyBolt(f, st.Size())
}

// verifyBolt checks the bbolt file of size bytes that r reads, as verifyBoltFile does.
func verifyBolt(r io.ReaderAt, size int64) error {
	v := &boltVerifier{f: r, size: size}
	if err := v.verify(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorruptStore, err)
	}
	return nil
}

func (v *boltVerifier) verify() error {
	if err := v.readMeta(); err != nil {
		return err
	}
	v.seen = make([]bool, v.meta.hwm)
	v.seen[0], v.seen[1] = true, true
	if err := v.tree(v.meta.root, nil, nil, 0); err != nil {
		return err
	}
	if err := v.freelist(); err != nil {
		return err
	}
	for id, ok := range v.seen {
		if !ok {
			return fmt.Errorf("page %d is neither reachable nor free", id)
		}
	}
	return nil
}

// readMeta finds the page size as bbolt does and picks the current meta page.
func (v *boltVerifier) readMeta() error {
	var metas []boltMeta
	buf := make([]byte, 0x1000)
	for _, off := range append([]int64{0}, boltMetaOffsets()...) {
		if n, _ := v.f.ReadAt(buf, off); n < boltPageHeader+boltMetaChecksumAt+8 {
			continue
		}
		if m, ok := parseBoltMeta(buf); ok && (off == 0 || int64(m.pageSize) == off) {
			metas = append(metas, m)
		}
	}
	if len(metas) == 0 {
		return fmt.Errorf("no valid meta page")
	}
	m := metas[0]
	for _, o := range metas[1:] {
		if o.txid > m.txid && o.pageSize == m.pageSize {
			m = o
		}
	}
	switch ps := int64(m.pageSize); {
	case ps < 1024 || ps > 1<<24:
		return fmt.Errorf("meta page gives page size %d", ps)
	case m.hwm < 2 || m.hwm > uint64(v.size/ps):
		return fmt.Errorf("meta page gives %d pages, the file holds %d", m.hwm, v.size/ps)
	}
	v.meta = m
	return nil
}

// boltMetaOffsets are where the second meta page may start: one page in, for page sizes of 1 KiB to 16 MiB.
func boltMetaOffsets() []int64 {
	var out []int64
	for i := range 15 {
		out = append(out, 1024<<i)
	}
	return out
}

// page reads page id with the pages it spans, after checking its header: its id, flags among want, and span.
func (v *boltVerifier) page(id uint64, want ...uint16) ([]byte, error) {
	if id < 2 || id >= v.meta.hwm {
		return nil, fmt.Errorf("page %d out of range [2, %d)", id, v.meta.hwm)
	}
	ps := int64(v.meta.pageSize)
	first := make([]byte, ps)
	if _, err := v.f.ReadAt(first, int64(id)*ps); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	over := uint64(ne.Uint32(first[12:]))
	switch {
	case ne.Uint64(first) != id:
		return nil, fmt.Errorf("page %d claims to be page %d", id, ne.Uint64(first))
	case !slices.Contains(want, ne.Uint16(first[8:])):
		return nil, fmt.Errorf("page %d has flags %#x, want one of %#x", id, ne.Uint16(first[8:]), want)
	case id+over >= v.meta.hwm:
		return nil, fmt.Errorf("page %d spans %d more pages, past page %d", id, over, v.meta.hwm)
	}
	for p := id; p <= id+over; p++ {
		if v.seen[p] {
			return nil, fmt.Errorf("page %d reached twice", p)
		}
		v.seen[p] = true
	}
	if over == 0 {
		return first, nil
	}
	b := make([]byte, int64(over+1)*ps)
	copy(b, first)
	if _, err := v.f.ReadAt(b[ps:], int64(id+1)*ps); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	return b, nil
}

// tree checks the bucket tree rooted at page id, whose keys must lie in [lo, hi) (nil: unbounded); depth is 0
// for the root bucket, which holds the store's buckets, and 1 inside them.
func (v *boltVerifier) tree(id uint64, lo, hi []byte, depth int) error {
	b, err := v.page(id, boltBranchFlag, boltLeafFlag)
	if err != nil {
		return err
	}
	return v.node(id, b, lo, hi, depth)
}

// node checks the branch or leaf page in b (a page read from the file, or a bucket's inline page).
func (v *boltVerifier) node(id uint64, b []byte, lo, hi []byte, depth int) error {
	if len(b) < boltPageHeader {
		return fmt.Errorf("page %d: %d bytes", id, len(b))
	}
	n := int(ne.Uint16(b[10:]))
	if boltPageHeader+n*boltElemSize > len(b) {
		return fmt.Errorf("page %d: %d elements overflow it", id, n)
	}
	if ne.Uint16(b[8:]) == boltBranchFlag {
		return v.branch(id, b, n, lo, hi, depth)
	}
	if ne.Uint16(b[8:]) != boltLeafFlag {
		return fmt.Errorf("page %d: flags %#x, want a branch or leaf page", id, ne.Uint16(b[8:]))
	}
	return v.leaf(id, b, n, lo, hi, depth)
}

// slice returns b[at+pos : at+pos+size] if it lies within b.
func slice(b []byte, at int, pos, size uint32) ([]byte, bool) {
	start := uint64(at) + uint64(pos)
	end := start + uint64(size)
	if end > uint64(len(b)) {
		return nil, false
	}
	return b[start:end], true
}

// inRange reports whether key lies in [lo, hi), where nil bounds are open.
func inRange(key, lo, hi []byte) bool {
	return (lo == nil || bytes.Compare(key, lo) >= 0) && (hi == nil || bytes.Compare(key, hi) < 0)
}

// branch checks the elements of a branch page and the subtrees they lead to.
func (v *boltVerifier) branch(id uint64, b []byte, n int, lo, hi []byte, depth int) error {
	if n == 0 {
		return fmt.Errorf("page %d: empty branch page", id)
	}
	keys := make([][]byte, n)
	for i := range n {
		at := boltPageHeader + i*boltElemSize
		k, ok := slice(b, at, ne.Uint32(b[at:]), ne.Uint32(b[at+4:]))
		if !ok || len(k) == 0 || (i > 0 && bytes.Compare(keys[i-1], k) >= 0) || !inRange(k, lo, hi) {
			return fmt.Errorf("page %d: branch key %d out of bounds or order", id, i)
		}
		keys[i] = k
	}
	for i := range n {
		at := boltPageHeader + i*boltElemSize
		next := hi
		if i+1 < n {
			next = keys[i+1]
		}
		if err := v.tree(ne.Uint64(b[at+8:]), keys[i], next, depth); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks the elements of a leaf page, and the buckets they hold.
func (v *boltVerifier) leaf(id uint64, b []byte, n int, lo, hi []byte, depth int) error {
	var prev []byte
	for i := range n {
		at := boltPageHeader + i*boltElemSize
		flags, pos, ksize := ne.Uint32(b[at:]), ne.Uint32(b[at+4:]), ne.Uint32(b[at+8:])
		kv, ok := slice(b, at, pos, ksize+ne.Uint32(b[at+12:]))
		if !ok || ksize == 0 || uint64(ksize)+uint64(ne.Uint32(b[at+12:])) > uint64(len(kv)) {
			return fmt.Errorf("page %d: leaf element %d out of bounds", id, i)
		}
		k := kv[:ksize]
		if (prev != nil && bytes.Compare(prev, k) >= 0) || !inRange(k, lo, hi) {
			return fmt.Errorf("page %d: leaf key %d out of order", id, i)
		}
		prev = k
		if flags&boltBucketElem == 0 {
			continue
		}
		if depth > 0 { // posnode's buckets hold no buckets; elements may overlap, so nesting could explode
			return fmt.Errorf("page %d: bucket inside a bucket", id)
		}
		if err := v.bucket(id, kv[ksize:]); err != nil {
			return err
		}
	}
	return nil
}

// bucket checks a top-level bucket stored as value val: an inline page, or a tree of pages.
func (v *boltVerifier) bucket(id uint64, val []byte) error {
	if len(val) < boltBucketHeader {
		return fmt.Errorf("page %d: bucket record of %d bytes", id, len(val))
	}
	if root := ne.Uint64(val); root != 0 {
		return v.tree(root, nil, nil, 1)
	}
	return v.node(id, val[boltBucketHeader:], nil, nil, 1)
}

// freelist checks that the free pages are in range, listed once, and not reachable from the tree.
func (v *boltVerifier) freelist() error {
	if v.meta.freelist == boltNoFreelist {
		return fmt.Errorf("no free list page (the store always writes one)")
	}
	b, err := v.page(v.meta.freelist, boltFreelistFlag)
	if err != nil {
		return err
	}
	first, n := boltPageHeader, uint64(ne.Uint16(b[10:]))
	if n == 0xffff {
		n, first = ne.Uint64(b[boltPageHeader:]), boltPageHeader+8
	}
	if n > uint64(len(b)-first)/8 {
		return fmt.Errorf("free list page %d: %d ids overflow it", v.meta.freelist, n)
	}
	for i := range int(n) {
		id := ne.Uint64(b[first+8*i:])
		if id < 2 || id >= v.meta.hwm || v.seen[id] {
			return fmt.Errorf("free list page %d: page %d is out of range, in use or listed twice", v.meta.freelist, id)
		}
		v.seen[id] = true
	}
	return nil
}
