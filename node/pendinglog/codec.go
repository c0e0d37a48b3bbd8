package pendinglog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/posnode/posnode/chain"
)

// The file (format 2) is the line Magic, then one entry per transaction:
// tx [153] (its encoding, PROTOCOL.md §3) | CRC-32C of those 153 bytes, u32 big-endian.
// A file of format 1, from before the checksum, is bare 153-byte encodings; it is read once and rewritten.
const (
	Magic     = "posnode pending transactions v2\n"
	EntrySize = chain.TxSize + 4 // bytes of one entry
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrDamaged: an entry of the file, before its torn tail if any, fails its checksum or does not decode.
var ErrDamaged = errors.New("damaged pending-transaction log")

// Encode returns the bytes of a format-2 file holding txs.
func Encode(txs []chain.Tx) []byte {
	data := make([]byte, 0, len(Magic)+len(txs)*EntrySize)
	data = append(data, Magic...)
	for i := range txs {
		data = appendEntry(data, &txs[i])
	}
	return data
}

// appendEntry appends the entry of tx to b.
func appendEntry(b []byte, tx *chain.Tx) []byte {
	start := len(b)
	b = tx.AppendTo(b)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// decoded is what decode found in a file.
type decoded struct {
	txs     []chain.Tx
	legacy  bool  // format 1
	dropped int   // bytes of a torn tail after the last good entry
	tornErr error // why the first dropped entry was dropped
}

// decode reads a file. A crash can leave only the end of the file unwritten, so a run of bad or partial entries
// that reaches the end is a torn tail, dropped; a bad entry followed by a good one is damage, an error wrapping
// ErrDamaged that says which entry. It checks checksums and encodings only: the transactions are the caller's
// to validate.
func decode(data []byte) (decoded, error) {
	switch {
	case len(data) == 0:
		return decoded{}, nil
	case bytes.HasPrefix(data, []byte(Magic)):
		return decodeEntries(data[len(Magic):], EntrySize, decodeEntry)
	case chain.TxKind(data[0]).Known():
		d, err := decodeEntries(data, chain.TxSize, chain.DecodeTx)
		d.legacy = true
		return d, err
	}
	return decoded{}, fmt.Errorf("%w: not a pending-transaction log (it starts with %q)", ErrDamaged, data[:min(len(data), 16)])
}

// decodeEntry decodes one format-2 entry.
func decodeEntry(e []byte) (chain.Tx, error) {
	body := e[:chain.TxSize]
	if got, want := crc32.Checksum(body, castagnoli), binary.BigEndian.Uint32(e[chain.TxSize:]); got != want {
		return chain.Tx{}, fmt.Errorf("checksum %08x, entry says %08x", got, want)
	}
	return chain.DecodeTx(body)
}

// decodeEntries decodes the entries of size bytes in data with decode, as decode describes.
func decodeEntries(data []byte, size int, decodeOne func([]byte) (chain.Tx, error)) (decoded, error) {
	var d decoded
	n := (len(data) + size - 1) / size // the last may be partial
	firstBad := -1
	for i := range n {
		e := data[i*size : min(len(data), (i+1)*size)]
		var tx chain.Tx
		err := fmt.Errorf("partial entry of %d bytes", len(e))
		if len(e) == size {
			tx, err = decodeOne(e)
		}
		switch {
		case err != nil && firstBad < 0:
			firstBad, d.tornErr = i, err
		case err == nil && firstBad >= 0:
			return decoded{}, fmt.Errorf("%w: entry %d of %d: %w", ErrDamaged, firstBad, n, d.tornErr)
		case err == nil:
			d.txs = append(d.txs, tx)
		}
	}
	if firstBad >= 0 {
		d.dropped = len(data) - firstBad*size
		d.tornErr = fmt.Errorf("entry %d of %d: %w", firstBad, n, d.tornErr)
	}
	return d, nil
}
