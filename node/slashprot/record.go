package slashprot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/posnode/posnode/chain"
)

// fileHeader starts every record file; a file that starts otherwise is not one.
const fileHeader = "posnode/slashing-protection/v1\n"

// recordSize is the encoded size of a record: kind u8 | pubkey [32] | a u64 | b u64 | root [32] | crc32c u32.
const recordSize = 1 + 32 + 8 + 8 + 32 + 4

// kind says what a record holds.
type kind uint8

const (
	kindBlock     kind = 1 // a = slot, b = 0
	kindVote      kind = 2 // a = source epoch, b = target epoch
	kindWatermark kind = 3 // a = highest source, b = highest target, root zero
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// record is one line of the log.
type record struct {
	kind kind
	addr chain.Address
	a, b uint64
	root chain.Hash
}

func blockRecord(addr chain.Address, slot chain.Slot, root chain.Hash) record {
	return record{kind: kindBlock, addr: addr, a: uint64(slot), root: root}
}

func voteRecord(addr chain.Address, v vote) record {
	return record{kind: kindVote, addr: addr, a: uint64(v.source), b: uint64(v.target), root: v.root}
}

func watermarkRecord(addr chain.Address, source, target chain.Epoch) record {
	return record{kind: kindWatermark, addr: addr, a: uint64(source), b: uint64(target)}
}

// appendTo appends the record's 85-byte encoding to buf.
func (r record) appendTo(buf []byte) []byte {
	start := len(buf)
	buf = append(buf, byte(r.kind))
	buf = append(buf, r.addr[:]...)
	buf = binary.BigEndian.AppendUint64(buf, r.a)
	buf = binary.BigEndian.AppendUint64(buf, r.b)
	buf = append(buf, r.root[:]...)
	return binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf[start:], crcTable))
}

// decodeRecord decodes one 85-byte record and checks its checksum and fields.
func decodeRecord(buf []byte) (record, error) {
	var r record
	if len(buf) != recordSize {
		return r, fmt.Errorf("record of %d bytes, want %d", len(buf), recordSize)
	}
	body := buf[:recordSize-4]
	if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(buf[recordSize-4:]) {
		return r, errors.New("checksum mismatch")
	}
	r.kind = kind(body[0])
	copy(r.addr[:], body[1:33])
	r.a = binary.BigEndian.Uint64(body[33:41])
	r.b = binary.BigEndian.Uint64(body[41:49])
	copy(r.root[:], body[49:81])
	return r, r.check()
}

// check rejects fields no writer produces.
func (r record) check() error {
	switch r.kind {
	case kindBlock:
		if r.b != 0 {
			return errors.New("block record with a second number")
		}
	case kindVote, kindWatermark:
		if r.a > r.b {
			return fmt.Errorf("vote record with source %d after target %d", r.a, r.b)
		}
		if r.kind == kindWatermark && !r.root.IsZero() {
			return errors.New("watermark record with a root")
		}
	default:
		return fmt.Errorf("unknown record kind %d", r.kind)
	}
	return nil
}

// parseLog decodes a record file. It returns the records and the length of the file's valid prefix. What
// follows that prefix is a write cut short by a crash, never acknowledged, and is dropped: a last record shorter
// than 85 bytes (a kill inside a write), or a run of zero bytes to the end of the file (a power cut after the
// file grew, before its data reached the disk). Anything else that does not decode — a wrong header, a record
// with a bad checksum or field anywhere, the last included — fails with ErrDamaged: an acknowledged record may
// be in it, and guessing could lower the protection.
func parseLog(data []byte) ([]record, int64, error) {
	if len(data) < len(fileHeader) {
		if string(data) == fileHeader[:len(data)] {
			return nil, 0, nil // empty, or a crash while the file was being created: nothing was recorded
		}
		return nil, 0, fmt.Errorf("%w: not a slashing protection file (bad header)", ErrDamaged)
	}
	if string(data[:len(fileHeader)]) != fileHeader {
		return nil, 0, fmt.Errorf("%w: not a slashing protection file (bad header)", ErrDamaged)
	}
	var recs []record
	off := len(fileHeader)
	for ; len(data)-off >= recordSize; off += recordSize {
		rec, err := decodeRecord(data[off : off+recordSize])
		if err != nil {
			if allZero(data[off:]) {
				break
			}
			return nil, 0, fmt.Errorf("%w: record %d of %d: %v", ErrDamaged, len(recs)+1, (len(data)-len(fileHeader))/recordSize, err)
		}
		recs = append(recs, rec)
	}
	return recs, int64(off), nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
