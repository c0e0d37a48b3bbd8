// Package evidencefile is a node's evidence file, evidence.pending: the evidence it found or received and that no
// finalized block holds yet, kept across crashes and restarts so that an offence whose two messages only this
// node saw stays punishable (PROTOCOL.md §8b). The file is small (one piece per offender, a few hundred at most)
// and is replaced whole at each change, so it is never torn.
package evidencefile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/internal/durable"
)

// FileName is the evidence file's name in a node's data directory.
const FileName = "evidence.pending"

// MaxPieces bounds the pieces a file may hold: the vote pool's pending and included evidence together
// (votepool.MaxEvidence + votepool.MaxIncluded).
const MaxPieces = 512

// ErrDamaged: the file is not one this package wrote (a wrong header, a bad length, a piece that does not decode,
// a checksum that does not match): the disk corrupted it.
var ErrDamaged = errors.New("evidence file damaged")

// magic opens every file; the format's version is in it.
const magic = "posnode/evidence/v1\n"

// Encode is the file's contents for set: magic | count u32 | count × (len u16 | evidence encoding) | SHA-256 of
// everything before it [32]. set must hold at most MaxPieces pieces.
func Encode(set []chain.Evidence) []byte {
	buf := append([]byte(magic), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(buf[len(magic):], uint32(len(set)))
	for i := range set {
		at := len(buf)
		buf = append(buf, 0, 0)
		buf = set[i].AppendTo(buf)
		binary.BigEndian.PutUint16(buf[at:], uint16(len(buf)-at-2))
	}
	sum := sha256.Sum256(buf)
	return append(buf, sum[:]...)
}

// Decode reads a file's contents; any fault is ErrDamaged, wrapped with what was wrong. The pieces are decoded,
// not verified: their signatures are the caller's to check.
func Decode(data []byte) ([]chain.Evidence, error) {
	if len(data) < len(magic)+4+sha256.Size || !bytes.HasPrefix(data, []byte(magic)) {
		return nil, fmt.Errorf("%w: no evidence file header", ErrDamaged)
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: checksum does not match", ErrDamaged)
	}
	rest := body[len(magic):]
	n := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	if n > MaxPieces {
		return nil, fmt.Errorf("%w: %d pieces, at most %d", ErrDamaged, n, MaxPieces)
	}
	set := make([]chain.Evidence, 0, n)
	for i := range n {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%w: piece %d cut short", ErrDamaged, i)
		}
		size := int(binary.BigEndian.Uint16(rest))
		if len(rest)-2 < size {
			return nil, fmt.Errorf("%w: piece %d cut short", ErrDamaged, i)
		}
		e, err := chain.DecodeEvidence(rest[2 : 2+size])
		if err != nil {
			return nil, fmt.Errorf("%w: piece %d: %w", ErrDamaged, i, err)
		}
		set = append(set, e)
		rest = rest[2+size:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last piece", ErrDamaged, len(rest))
	}
	return set, nil
}

// File is an open evidence file. Write may be called from any goroutine.
type File struct {
	path  string
	fault func(op string) error

	mu      sync.Mutex // one write at a time; guards written
	written uint64     // the generation of the newest set written
}

// Open reads the evidence file at path, and returns it with the set it holds (none when the file does not
// exist). A damaged file is an error wrapping ErrDamaged that names the file and what to do; nothing else of the
// node depends on it.
func Open(path string) (*File, []chain.Evidence, error) {
	os.Remove(path + ".tmp") // a replacement cut short; the file itself is whole
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &File{path: path}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read evidence file %s: %w", path, err)
	}
	set, err := Decode(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w; move it aside (mv %s %s.damaged) and start again: only evidence that no block holds yet is lost with it",
			path, err, path, path)
	}
	return &File{path: path}, set, nil
}

// SetFault has the file ask f before each "write" and "sync" (durable.Replace): a simulator's full or failing
// disk. Set it before the first Write.
func (f *File) SetFault(fault func(op string) error) { f.fault = fault }

// Write replaces the file's set with set, at most MaxPieces pieces, numbered gen by the caller (1, 2, …): a
// write of a generation not newer than the newest written does nothing, so a write that a newer one overtook
// cannot put an older set back. The error is the disk's, and the old set stays; the caller writes its set again
// later.
func (f *File) Write(gen uint64, set []chain.Evidence) error {
	if len(set) > MaxPieces {
		return fmt.Errorf("evidence file %s: %d pieces, at most %d", f.path, len(set), MaxPieces)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen <= f.written {
		return nil
	}
	if err := durable.Replace(f.path, Encode(set), f.fault); err != nil {
		return err
	}
	f.written = gen
	return nil
}
